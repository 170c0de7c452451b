// Photo preprocessing (shared/preprocess, in Node) next to sharp's decode + rotate + resize in the
// same process, for the four reference files of the README's Photos table. Medians of 5 after 2 warm-ups.
// In workerd the same code runs (bit-identical); a workerd column belongs in bench/run.ts.
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import sharp from 'sharp';
import { PreprocessSpecSchema } from '../shared/manifest/preprocess.ts';
import { preprocessBytes } from '../shared/preprocess/index.ts';
import { installNodeCodecs } from '../training/images/node-codecs.ts';
import { median } from './stats.ts';
await installNodeCodecs();
const src = readFileSync('data/photos/coffee.png');
const files: [string, Buffer][] = [
  ['12 MP JPEG', await sharp(src).resize(4032, 3024, { fit: 'fill' }).jpeg({ quality: 90 }).toBuffer()],
  ['2 MP JPEG', await sharp(src).resize(1632, 1224, { fit: 'fill' }).jpeg({ quality: 90 }).toBuffer()],
  ['1 MP WebP', await sharp(src).resize(1152, 864, { fit: 'fill' }).webp({ quality: 90 }).toBuffer()],
  ['0.3 MP PNG', await sharp(src).resize(640, 480, { fit: 'fill' }).png().toBuffer()],
];
const spec = PreprocessSpecSchema.parse({
  width: 224,
  height: 224,
  channels: 3,
  layout: 'NCHW',
  resize: 'triangle',
});
console.log(`CPU: ${cpus()[0]?.model ?? 'unknown'}`);
console.log('| file | bytes | edgetune ms | sharp ms | ratio |\n|---|---|---|---|---|');
for (const [name, buf] of files) {
  const bytes = new Uint8Array(buf);
  const ours: number[] = [];
  const native: number[] = [];
  for (let i = 0; i < 7; i++) {
    let t = performance.now();
    preprocessBytes(bytes, spec);
    ours.push(performance.now() - t);
    t = performance.now();
    await sharp(buf)
      .rotate()
      .resize(224, 224, { fit: 'fill', kernel: 'linear' })
      .removeAlpha()
      .raw()
      .toBuffer();
    native.push(performance.now() - t);
  }
  const o = median(ours.slice(2));
  const n = median(native.slice(2));
  console.log(
    `| ${name} | ${(buf.length / 1e6).toFixed(2)} MB | ${o.toFixed(1)} | ${n.toFixed(1)} | ${(o / n).toFixed(1)}× |`,
  );
}
