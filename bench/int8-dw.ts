/**
 * Microbenchmark of the int8 depthwise 3×3 (qdw3x3, codes out) beside the fp32 dw3x3 on
 * MobileNetV2-224's depthwise shapes, in a workerd isolate (bench/kernel-workerd.ts): medians of the
 * rounds' medians of 7 samples of the workerd process's CPU time. `--module NAME=PATH` (repeatable)
 * adds another build of the kernels, e.g. one built at an earlier commit; per shape and kind the
 * builds are timed in turn, so old and new alternate within seconds.
 *
 *   node --import tsx bench/int8-dw.ts [--module NAME=PATH] [--rounds 1] [--kinds fp32,qdw3x3]
 */
import os from 'node:os';
import { KERNEL_OUTPUTS } from '../kernels/build.ts';
import { DW_KINDS, DW_SHAPES } from './int8-dw-core.ts';
import { startKernelWorker } from './kernel-workerd.ts';
import { median } from './stats.ts';

const extra = Object.fromEntries(
  process.argv.flatMap((a, i) =>
    process.argv[i - 1] === '--module' ? [a.split('=', 2) as [string, string]] : [],
  ),
);
const i = process.argv.indexOf('--rounds');
const rounds = i >= 0 ? Number(process.argv[i + 1]) : 1;
const j = process.argv.indexOf('--kinds');
const kinds = j >= 0 ? DW_KINDS.filter((k) => process.argv[j + 1]!.split(',').includes(k)) : DW_KINDS;
const paths = { relaxed: KERNEL_OUTPUTS.relaxed, ...extra };
const load0 = os.loadavg()[0]!;
const worker = await startKernelWorker(paths, 'int8-dw-core.ts', 'dwWorker');
// module → kind → per shape, the samples of each round
const ms: Record<string, Record<string, number[][]>> = {};
try {
  for (let r = 0; r < rounds; r++) {
    for (let shape = 0; shape < DW_SHAPES.length; shape++) {
      for (const kind of kinds) {
        for (const module of Object.keys(paths)) {
          const t = await worker.time({ module, shape, kind });
          const byKind = ms[module] ?? {};
          ms[module] = byKind;
          const perShape = byKind[kind] ?? DW_SHAPES.map(() => []);
          byKind[kind] = perShape;
          perShape[shape]!.push(t);
        }
      }
    }
  }
} finally {
  await worker.dispose();
}
console.log(
  `${os.cpus()[0]?.model.trim()}, load ${load0.toFixed(2)} → ${os.loadavg()[0]!.toFixed(2)}, workerd (Miniflare), ${rounds} round(s); CPU ms per call`,
);
const cols = Object.entries(ms).flatMap(([m, kinds]) => Object.keys(kinds).map((k) => [m, k] as const));
console.log(`| shape | ${cols.map(([m, k]) => `${m} ${k}`).join(' | ')} |`);
console.log(`|---|${cols.map(() => '---').join('|')}|`);
const totals = cols.map(() => 0);
DW_SHAPES.forEach(([hw, c, s], shape) => {
  const v = cols.map(([m, k]) => median(ms[m]![k]![shape]!));
  v.forEach((x, j) => {
    totals[j]! += x;
  });
  console.log(`| ${hw}×${hw}×${c} s${s} | ${v.map((x) => x.toFixed(3)).join(' | ')} |`);
});
console.log(`| total | ${totals.map((x) => x.toFixed(3)).join(' | ')} |`);
