/**
 * Kernel microbenchmarks inside a workerd isolate (Miniflare): bundles a worker whose handler
 * `factory` (exported by `core`, a Node-free module beside this file) builds from the kernel
 * modules, the builds given as compiled modules. Each sample is the workerd process's CPU time
 * around one request: on a shared machine wall time (workerd's clock) counts other processes' turns.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { Miniflare } from 'miniflare';
import { cpuMs, workerdPid } from './cpu-time.ts';
import { median } from './stats.ts';

const here = dirname(fileURLToPath(import.meta.url));

export interface KernelWorker {
  /** Median CPU ms per repetition of the request `query` (which takes `reps`), after a warm-up. */
  time(query: Record<string, string | number>): Promise<number>;
  dispose(): Promise<void>;
}

export async function startKernelWorker(
  paths: Record<string, string>,
  core: string,
  factory: string,
): Promise<KernelWorker> {
  const names = Object.keys(paths);
  const entry = `${names.map((_, i) => `import m${i} from './m${i}.wasm';`).join('\n')}
import { ${factory} } from './${core}';
const handle = ${factory}({ ${names.map((n, i) => `${JSON.stringify(n)}: m${i}`).join(', ')} });
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
      { type: 'ESModule', path: join(here, 'kernel-bench.mjs'), contents: bundled.outputFiles[0]!.text },
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
  await mf.ready;
  const pid = workerdPid();
  const run = async (query: Record<string, string | number>, reps: number): Promise<number> => {
    const t0 = cpuMs(pid);
    const params = new URLSearchParams(
      Object.entries({ ...query, reps }).map(([k, v]) => [k, String(v)] as [string, string]),
    );
    const res = await mf.dispatchFetch(`http://localhost/?${params}`);
    if (!res.ok) throw new Error(`workerd: ${res.status} ${(await res.text()).slice(0, 600)}`);
    await res.arrayBuffer();
    return cpuMs(pid) - t0;
  };
  return {
    async time(query) {
      for (let i = 0; i < 3; i++) await run(query, 5);
      let reps = 1;
      while ((await run(query, reps)) < 40) reps *= 2;
      const samples: number[] = [];
      for (let i = 0; i < 7; i++) samples.push((await run(query, reps)) / reps);
      return median(samples);
    },
    dispose: () => mf.dispose(),
  };
}
