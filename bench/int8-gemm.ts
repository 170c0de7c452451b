/**
 * Microbenchmark of the engine's 1×1-convolution GEMMs: the fp32 `gemm` vs the int8 `qgemm`
 * (7-bit codes × int8 weights, writing the next op's codes) on the shapes of MobileNetV2-224's
 * 1×1 convs, both kernel modules, medians of 7 timed batches (bench/int8-gemm-core.ts).
 * By default in Node; `--workerd` runs the same code inside a workerd isolate (Miniflare), where
 * V8 lowers the relaxed dot product differently (see README, int8 on the edge) — the figure that
 * matters for the edge. `--module NAME=PATH` (repeatable) adds another build of the kernels.
 *
 *   node --experimental-wasm-relaxed-simd --import tsx bench/int8-gemm.ts [--workerd] [--module NAME=PATH]
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { KERNEL_OUTPUTS } from '../kernels/build.ts';
import { loadKernelModules } from '../kernels/node-kernels.ts';
import { benchModules, type GemmRow, row, SHAPES } from './int8-gemm-core.ts';
import { startKernelWorker } from './kernel-workerd.ts';

/**
 * The same kernels in a workerd isolate (bench/kernel-workerd.ts); per shape the builds are timed
 * in turn, so another build (--module) alternates with the committed ones within seconds.
 */
async function inWorkerd(paths: Record<string, string>): Promise<GemmRow[]> {
  const worker = await startKernelWorker(paths, 'int8-gemm-core.ts', 'gemmWorker');
  try {
    const rows: GemmRow[] = [];
    for (let shape = 0; shape < SHAPES.length; shape++) {
      for (const module of Object.keys(paths)) {
        const fp32 = await worker.time({ module, shape, kind: 'fp32' });
        rows.push(row(module, SHAPES[shape]!, fp32, await worker.time({ module, shape, kind: 'int8' })));
      }
    }
    const order = Object.keys(paths);
    return rows.sort((a, b) => order.indexOf(a.variant) - order.indexOf(b.variant));
  } finally {
    await worker.dispose();
  }
}

const workerd = process.argv.includes('--workerd');
/** `--module NAME=PATH` (repeatable) times other builds of the kernels beside the committed ones. */
const extra = Object.fromEntries(
  process.argv.flatMap((a, i) =>
    process.argv[i - 1] === '--module' ? [a.split('=', 2) as [string, string]] : [],
  ),
);
const load0 = os.loadavg()[0]!;
const rows = workerd
  ? await inWorkerd({ ...KERNEL_OUTPUTS, ...extra })
  : benchModules(
      {
        ...Object.fromEntries(Object.entries(loadKernelModules()).filter(([, m]) => m !== undefined)),
        ...Object.fromEntries(
          Object.entries(extra).map(([n, p]) => [n, new WebAssembly.Module(readFileSync(p))]),
        ),
      },
      // this process's CPU time, not wall time: the machine is shared
      () => {
        const u = process.cpuUsage();
        return (u.user + u.system) / 1000;
      },
    );
console.log(
  `${os.cpus()[0]?.model.trim()}, load ${load0.toFixed(2)} → ${os.loadavg()[0]!.toFixed(2)}, ${workerd ? 'workerd (Miniflare)' : `Node ${process.version}`}`,
);
console.log(
  '| module | pixels × K × N | fp32 gemm CPU ms | int8 qgemm CPU ms | fp32 GMAC/s | int8 GMAC/s | int8/fp32 |',
);
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.variant} | ${r.shape.join(' × ')} | ${r.fp32_ms.toFixed(3)} | ${r.int8_ms.toFixed(3)} | ${r.fp32_gmacs.toFixed(1)} | ${r.int8_gmacs.toFixed(1)} | ${(r.fp32_ms / r.int8_ms).toFixed(2)}× |`,
  );
}
