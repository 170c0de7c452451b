/**
 * Engine benchmark: MobileNetV2-224 + 5-class head, one image, warm.
 *   engine (relaxed SIMD when this Node allows it, and the SIMD128 fallback)
 *   onnxruntime-web wasm (1 thread) in Node, onnxruntime-node (1 intra-op thread)
 * Runs are interleaved round-robin so the noise of a shared machine hits every runtime alike;
 * medians of --runs (default 40) after --warmup (default 10). Prints per-op-type engine timings.
 *
 *   node --experimental-wasm-relaxed-simd --import tsx bench/engine.ts [--runs 40] [--warmup 10]
 */
import { loadKernelModules } from '../kernels/node-kernels.ts';
import { createEngineSession, type EngineSession } from '../shared/engine/index.ts';
import { createOrtWebRunner } from '../shared/inference/ort-web-runner.ts';
import { encodeModel } from '../shared/onnx/proto.ts';
import { mobileNetV2WithHead, seededInput } from '../shared/onnx/zoo/mobilenetv2.ts';
import { createOrtNodeRunner } from '../training/inference/ort-node-runner.ts';
import { getOrtWeb } from '../training/optimize/web-runtime.ts';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  const runs = flag('runs', 40);
  const warmup = flag('warmup', 10);
  const model = mobileNetV2WithHead({ seed: 1 });
  const bytes = encodeModel(model);
  const dims = [1, 3, 224, 224];
  const x = seededInput(2, 3 * 224 * 224);

  const engines: EngineSession[] = [await createEngineSession(model, loadKernelModules({ relaxed: false }))];
  const relaxedModules = loadKernelModules();
  if (relaxedModules.relaxed) engines.unshift(await createEngineSession(model, relaxedModules));
  const node = await createOrtNodeRunner(bytes, { device: 'cpu', threads: 1 });
  // onnxruntime-web as the edge configures it (one thread, no proxy), full optimisation at load.
  const web = await createOrtWebRunner(await getOrtWeb(), bytes, false);

  const timings = new Map<string, Map<string, number>>();
  const contestants: { name: string; run: (measured: boolean) => Promise<unknown> }[] = [
    ...engines.map((e) => {
      const t = new Map<string, number>();
      timings.set(e.variant, t);
      return {
        name: `engine (${e.variant === 'relaxed' ? 'relaxed SIMD' : 'SIMD128'})`,
        run: async (measured: boolean) =>
          e.runSync({ input: { data: x, dims } }, measured ? { timings: t } : undefined),
      };
    }),
    {
      name: 'onnxruntime-web wasm, 1 thread',
      run: () => web.run('input', x, dims),
    },
    {
      name: 'onnxruntime-node, 1 thread',
      run: () => node.run('input', x, dims),
    },
  ];
  for (let i = 0; i < warmup; i++) for (const c of contestants) await c.run(false);
  const samples = contestants.map(() => [] as number[]);
  for (let i = 0; i < runs; i++) {
    for (const [j, c] of contestants.entries()) {
      const t0 = performance.now();
      await c.run(false);
      samples[j]!.push(performance.now() - t0);
    }
  }
  // per-op timings in separate passes (performance.now around every step adds a little)
  for (let i = 0; i < 10; i++) for (const c of contestants.slice(0, engines.length)) await c.run(true);

  const native = median(samples[samples.length - 1]!);
  console.log(
    `MobileNetV2-224 + 5-class head, batch 1; median of ${runs} interleaved runs after ${warmup} warm-up`,
  );
  console.log('| runtime | median ms | p10 ms | p90 ms | × onnxruntime-node |');
  console.log('|---|---|---|---|---|');
  for (const [j, c] of contestants.entries()) {
    const s = [...samples[j]!].sort((a, b) => a - b);
    const m = median(s);
    const p = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
    console.log(
      `| ${c.name} | ${m.toFixed(2)} | ${p(0.1).toFixed(2)} | ${p(0.9).toFixed(2)} | ${(m / native).toFixed(2)} |`,
    );
  }
  for (const e of engines) {
    const t = timings.get(e.variant)!;
    const total = [...t.values()].reduce((a, b) => a + b, 0);
    console.log(
      `\nengine ${e.variant}: mean ms per run by op type (10 profiled runs), heap ${(e.heapBytes / 2 ** 20).toFixed(1)} MiB`,
    );
    console.log('| op | ms | share |');
    console.log('|---|---|---|');
    for (const [op, ms] of [...t].sort((a, b) => b[1] - a[1])) {
      console.log(`| ${op} | ${(ms / 10).toFixed(2)} | ${((100 * ms) / total).toFixed(1)}% |`);
    }
  }
  await node.release();
  await web.release();
}

await main();
