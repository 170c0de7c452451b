// `npm run bench:photos`: photo preprocessing (shared/preprocess) next to sharp.
// 1. In Node, same process as sharp: decode + rotate + resize + tensor vs sharp's decode + rotate +
//    resize, medians of 5 after 2 warm-ups (bit-identical to workerd, see tests/workers/photo-decode).
// 2. Unless --node-only: the workerd table of `npm run bench` (photo-edge.ts) on its own — trains
//    the reference model, publishes it to a local R2, serves the production Worker — and merges its
//    keys (photo_preprocess_vs_native_ratio, phone_photo_server_ms, photos_in_workerd with this
//    run's machine and load) into bench/results.json; the rest of that file is left as it was.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PHOTO_SPEC } from './photo-spec.ts';
import { preprocessBytes } from '../shared/preprocess/index.ts';
import { installNodeCodecs } from '../training/images/node-codecs.ts';
import { projectRoot } from '../local-edge/bundle.ts';
import { setupEdge } from './edge.ts';
import { referenceModel } from './models.ts';
import { photoEdgeTable, renderPhotoTable } from './photo-edge.ts';
import { photoBenchFiles, sharpPreprocess } from './photo-files.ts';
import { median, round } from './stats.ts';

await installNodeCodecs();
const files = await photoBenchFiles();
const spec = PHOTO_SPEC;
const cpu = os.cpus()[0]?.model.trim() ?? 'unknown';
console.log(`CPU: ${cpu}, load ${os.loadavg()[0]!.toFixed(2)}`);
// Wall time, and process CPU time (user + system, all threads: libvips decodes on its own
// threads). On a shared machine the CPU column is the steadier comparison of work done.
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
console.log(
  '| file | bytes | edgetune ms | sharp ms | ratio | edgetune CPU ms | sharp CPU ms | CPU ratio |\n|---|---|---|---|---|---|---|---|',
);
for (const f of files) {
  const ours: number[] = [];
  const native: number[] = [];
  const oursCpu: number[] = [];
  const nativeCpu: number[] = [];
  for (let i = 0; i < 7; i++) {
    let t = performance.now();
    let c = cpuMs();
    preprocessBytes(f.bytes, spec);
    oursCpu.push(cpuMs() - c);
    ours.push(performance.now() - t);
    t = performance.now();
    c = cpuMs();
    await sharpPreprocess(f.bytes, 224, 224);
    nativeCpu.push(cpuMs() - c);
    native.push(performance.now() - t);
  }
  const [o, n, oc, nc] = [ours, native, oursCpu, nativeCpu].map((xs) => median(xs.slice(2))) as [
    number,
    number,
    number,
    number,
  ];
  console.log(
    `| ${f.label} | ${(f.bytes.length / 1e6).toFixed(2)} MB | ${o.toFixed(1)} | ${n.toFixed(1)} | ${(o / n).toFixed(1)}× | ` +
      `${oc.toFixed(1)} | ${nc.toFixed(1)} | ${(oc / nc).toFixed(1)}× |`,
  );
}

if (!process.argv.includes('--node-only')) {
  const log = (m: string) => console.error(`[photos] ${m}`);
  const reference = await referenceModel(log);
  const setup = await setupEdge([reference], log);
  const table = await photoEdgeTable(setup, reference, log);
  console.log(`\n${renderPhotoTable(table).join('\n')}`);
  const file = path.join(projectRoot, 'bench', 'results.json');
  const results = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  results.photo_preprocess_vs_native_ratio = table.photo_preprocess_vs_native_ratio;
  results.phone_photo_server_ms = table.phone_photo_server_ms;
  results.photos_in_workerd = {
    ...table,
    measured_by: 'npm run bench:photos',
    machine: {
      cpu,
      cores: os.cpus().length,
      load_average_1m: round(os.loadavg()[0]!, 2),
      date: new Date().toISOString(),
    },
  };
  fs.writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  console.error('[photos] merged the photo keys into bench/results.json');
}
