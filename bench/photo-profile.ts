/**
 * Where the edge's preprocessing time goes, per stage, in Node (the same shared/preprocess code
 * the Worker runs): the four bench uploads through decode → orientation → resize → tensor.
 * `node --cpu-prof --import tsx bench/photo-profile.ts` adds a V8 profile of the same loop.
 */
import { preprocessBytes } from '../shared/preprocess/preprocess.ts';
import type { PreprocessSpec } from '../shared/manifest/preprocess.ts';
import { installNodeCodecs } from '../training/images/node-codecs.ts';
import { photoBenchFiles, sharpPreprocess } from './photo-files.ts';

const spec: PreprocessSpec = {
  width: 224,
  height: 224,
  channels: 3,
  layout: 'NCHW',
  resize: 'triangle',
  scale: 1,
  mean: [0],
  std: [1],
  invert: false,
};
await installNodeCodecs();
const runs = Number(process.env.PHOTO_PROFILE_RUNS ?? 15);
const files = await photoBenchFiles();
// PHOTO_PROFILE_ONLY=<index> profiles one file alone (0: 12 MP JPEG … 3: PNG).
const only = process.env.PHOTO_PROFILE_ONLY;
for (const [i, f] of files.entries()) {
  if (only !== undefined && Number(only) !== i) continue;
  for (let w = 0; w < 3; w++) preprocessBytes(f.bytes, spec);
  const ours: number[] = [];
  const native: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    preprocessBytes(f.bytes, spec);
    const t1 = performance.now();
    await sharpPreprocess(f.bytes, spec.width, spec.height);
    native.push(performance.now() - t1);
    ours.push(t1 - t0);
  }
  const med = (a: number[]) => a.sort((x, y) => x - y)[a.length >> 1]!;
  console.log(
    `${f.label}: shared/preprocess ${med(ours).toFixed(1)} ms, sharp ${med(native).toFixed(1)} ms, ratio ${(med(ours) / med(native)).toFixed(2)}`,
  );
}
