/**
 * This tree's photo preprocessing next to another checkout's (e.g. main before a decoder change)
 * and sharp, alternating per image in one process so all three see the same machine load; CPU
 * time of the process (sharp's includes libvips' threads), medians after 2 warm-ups.
 *
 *   git archive <commit> shared training | tar -x -C /tmp/prev && ln -s "$PWD/node_modules" /tmp/prev/
 *   PHOTO_COMPARE_RUNS=15 node --no-warnings --import tsx bench/photo-compare.ts /tmp/prev
 */
import os from 'node:os';
import path from 'node:path';
import { PreprocessSpecSchema } from '../shared/manifest/preprocess.ts';
import { preprocessBytes } from '../shared/preprocess/preprocess.ts';
import { installNodeCodecs } from '../training/images/node-codecs.ts';
import { photoBenchFiles, sharpPreprocess } from './photo-files.ts';
import { median } from './stats.ts';

const other = process.argv[2];
if (!other) throw new Error('usage: bench/photo-compare.ts <other checkout>');
const prev = (await import(path.resolve(other, 'shared/preprocess/preprocess.ts'))) as {
  preprocessBytes: typeof preprocessBytes;
};
const prevCodecs = (await import(path.resolve(other, 'training/images/node-codecs.ts'))) as {
  installNodeCodecs: () => Promise<void>;
};
await prevCodecs.installNodeCodecs();
await installNodeCodecs();
const spec = PreprocessSpecSchema.parse({
  width: 224,
  height: 224,
  channels: 3,
  layout: 'NCHW',
  resize: 'triangle',
});
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const runs = Number(process.env.PHOTO_COMPARE_RUNS ?? 11);
const timed = async (f: () => unknown) => {
  const c = cpuMs();
  await f();
  return cpuMs() - c;
};
console.log(
  `CPU ${os.cpus()[0]?.model.trim()}, load ${os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
console.log(
  '| file | other CPU ms | this CPU ms | sharp CPU ms | other ÷ sharp | this ÷ sharp |\n|---|---|---|---|---|---|',
);
for (const f of await photoBenchFiles()) {
  const [o, n, s]: number[][] = [[], [], []];
  for (let i = 0; i < runs + 2; i++) {
    const a = await timed(() => prev.preprocessBytes(f.bytes, spec));
    const b = await timed(() => preprocessBytes(f.bytes, spec));
    const c = await timed(() => sharpPreprocess(f.bytes, 224, 224));
    if (i < 2) continue;
    o!.push(a);
    n!.push(b);
    s!.push(c);
  }
  const [mo, mn, ms] = [median(o!), median(n!), median(s!)];
  console.log(
    `| ${f.label} | ${mo.toFixed(1)} | ${mn.toFixed(1)} | ${ms.toFixed(1)} | ${(mo / ms).toFixed(2)}× | ${(mn / ms).toFixed(2)}× |`,
  );
}
