/**
 * Only the int8 part of `npm run bench` (for working on the int8 kernels without the whole
 * bench): trains the reference model as the bench does, measures onnxruntime-node fp32 and the
 * engine fp32 in workerd for comparison, then bench/int8.ts. Writes bench/int8-results.json.
 *
 *   node --import tsx bench/int8-only.ts
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../local-edge/bundle.ts';
import { inIsolateEngine, setupEdge } from './edge.ts';
import { int8Bench, int8Markdown } from './int8.ts';
import { referenceModel } from './models.ts';
import { nativeWarm } from './node-runtimes.ts';

const started = performance.now();
const log = (m: string) =>
  console.error(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${m}`);

log(`machine: ${os.cpus()[0]?.model.trim()}, ${os.cpus().length} cores, load ${os.loadavg()[0]?.toFixed(2)}`);
const reference = await referenceModel(log);
const native = await nativeWarm(reference);
log(`${reference.name}: onnxruntime-node fp32 1 thread ${native.median_ms} ms`);
const setup = await setupEdge([reference], log);
const fp32 = await inIsolateEngine(setup, reference);
log(`${reference.name}: engine fp32 in workerd ${fp32.warm.median_ms} ms (${fp32.variant})`);
const int8 = await int8Bench(setup, reference, native.median_ms, 3, log);
const out = {
  cpu: os.cpus()[0]?.model.trim(),
  load_average_1m: os.loadavg()[0],
  native,
  engine_fp32: fp32,
  int8,
};
fs.writeFileSync(path.join(projectRoot, 'bench', 'int8-results.json'), `${JSON.stringify(out, null, 2)}\n`);
console.log(
  `engine fp32 in workerd: ${fp32.warm.median_ms} ms (${round2(fp32.warm.median_ms / native.median_ms)}× native)\n`,
);
console.log(int8Markdown(int8, fp32.ops_ms));

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
