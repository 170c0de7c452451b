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
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { Miniflare } from 'miniflare';
import { KERNEL_OUTPUTS } from '../kernels/build.ts';
import { loadKernelModules } from '../kernels/node-kernels.ts';
import { cpuMs, workerdPid } from './cpu-time.ts';
import { benchModules, type GemmRow, row, SHAPES } from './int8-gemm-core.ts';
import { median } from './stats.ts';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * The same kernels in a workerd isolate (Miniflare), bundled with the kernels as compiled modules.
 * Each sample is the workerd process's CPU time around one request running the kernel `reps`
 * times: on a shared machine wall time (workerd's clock) counts other processes' turns.
 */
async function inWorkerd(paths: Record<string, string>): Promise<GemmRow[]> {
  const names = Object.keys(paths);
  const entry = `${names.map((_, i) => `import m${i} from './m${i}.wasm';`).join('\n')}
import { gemmWorker } from './int8-gemm-core.ts';
const handle = gemmWorker({ ${names.map((n, i) => `${JSON.stringify(n)}: m${i}`).join(', ')} });
export default { fetch: (req) => handle(req) };`;
  const bundled = await build({
    stdin: { contents: entry, resolveDir: here, loader: 'ts' },
    bundle: true,
    format: 'esm',
    write: false,
    external: ['*.wasm'],
    platform: 'neutral',
  });
  const mf = new Miniflare({
    modules: [
      { type: 'ESModule', path: join(here, 'int8-gemm.mjs'), contents: bundled.outputFiles[0]!.text },
      ...names.map((n, i) => ({
        type: 'CompiledWasm' as const,
        path: join(here, `m${i}.wasm`),
        contents: readFileSync(paths[n]!),
      })),
    ],
    compatibilityDate: '2026-04-20',
    host: '127.0.0.1',
    port: 0,
  });
  try {
    await mf.ready;
    const pid = workerdPid();
    const run = async (module: string, shape: number, kind: string, reps: number): Promise<number> => {
      const t0 = cpuMs(pid);
      const res = await mf.dispatchFetch(
        `http://localhost/?${new URLSearchParams({ module, shape: String(shape), kind, reps: String(reps) })}`,
      );
      if (!res.ok) throw new Error(`workerd: ${res.status} ${(await res.text()).slice(0, 600)}`);
      await res.arrayBuffer();
      return cpuMs(pid) - t0;
    };
    const time = async (module: string, shape: number, kind: string): Promise<number> => {
      for (let i = 0; i < 3; i++) await run(module, shape, kind, 5);
      let reps = 1;
      while ((await run(module, shape, kind, reps)) < 40) reps *= 2;
      const samples: number[] = [];
      for (let i = 0; i < 7; i++) samples.push((await run(module, shape, kind, reps)) / reps);
      return median(samples);
    };
    const rows: GemmRow[] = [];
    for (const n of names) {
      for (let i = 0; i < SHAPES.length; i++) {
        rows.push(row(n, SHAPES[i]!, await time(n, i, 'fp32'), await time(n, i, 'int8')));
      }
    }
    return rows;
  } finally {
    await mf.dispose();
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
