/**
 * int8 on the engine in Node (development bench, one process): MobileNetV2-224 + 5-class head with
 * random weights, quantized by training/quantize (activation ranges calibrated on seeded inputs),
 * on the engine's int8 kernels (relaxed SIMD when this Node allows it, and the SIMD128 fallback)
 * vs the engine on the fp32 graph vs onnxruntime-node fp32 (1 intra-op thread). Runs interleaved;
 * medians; per-op-type engine timings. `npm run bench` measures the same in workerd.
 *
 *   node --experimental-wasm-relaxed-simd --import tsx bench/int8-engine.ts [--runs 30] [--warmup 8]
 */
import * as ortNode from '../training/inference/ort-node.ts';
import { loadKernelModules } from '../kernels/node-kernels.ts';
import { createEngineSession, type EngineSession } from '../shared/engine/index.ts';
import { encodeModel } from '../shared/onnx/proto.ts';
import { addOutputs } from '../shared/onnx/surgery.ts';
import { mobileNetV2WithHead, seededInput } from '../shared/onnx/zoo/mobilenetv2.ts';
import { quantizableOps, toQdq } from '../training/quantize/qdq.ts';
import { median } from './stats.ts';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** Min/max of every activation a quantized op reads, over `inputs` (onnxruntime-node fp32). */
async function minMaxRanges(
  model: ReturnType<typeof mobileNetV2WithHead>,
  inputs: Float32Array[],
  dims: number[],
): Promise<Map<string, { min: number; max: number }>> {
  const names = [...new Set(quantizableOps(model).map((o) => o.activation))];
  const graphInput = model.graph?.input?.[0]?.name ?? '';
  const session = await ortNode.InferenceSession.create(
    encodeModel(
      addOutputs(
        model,
        names.filter((n) => n !== graphInput),
      ),
    ),
    { intraOpNumThreads: 1 },
  );
  const ranges = new Map(names.map((n) => [n, { min: Infinity, max: -Infinity }]));
  for (const x of inputs) {
    const out = await session.run({ [graphInput]: new ortNode.Tensor('float32', x, dims) });
    for (const n of names) {
      const data = n === graphInput ? x : (out[n]!.data as Float32Array);
      const r = ranges.get(n)!;
      for (const v of data) {
        if (v < r.min) r.min = v;
        if (v > r.max) r.max = v;
      }
    }
  }
  await session.release();
  return ranges;
}

async function main(): Promise<void> {
  const runs = flag('runs', 30);
  const warmup = flag('warmup', 8);
  const model = mobileNetV2WithHead({ seed: 1 });
  const dims = [1, 3, 224, 224];
  const inputs = [3, 4, 5, 6].map((s) => seededInput(s, 3 * 224 * 224));
  const ranges = await minMaxRanges(model, inputs, dims);
  const qdq = toQdq(model, { ranges, activationBits: 7, keepFp32: new Set() });
  const x = seededInput(2, 3 * 224 * 224);

  const sessions: { name: string; session: EngineSession }[] = [];
  const relaxed = loadKernelModules();
  const simd = loadKernelModules({ relaxed: false });
  if (relaxed.relaxed) {
    sessions.push({ name: 'engine int8 relaxed', session: await createEngineSession(qdq, relaxed) });
    sessions.push({ name: 'engine fp32 relaxed', session: await createEngineSession(model, relaxed) });
  }
  sessions.push({ name: 'engine int8 simd128', session: await createEngineSession(qdq, simd) });
  sessions.push({ name: 'engine fp32 simd128', session: await createEngineSession(model, simd) });
  const node = await ortNode.InferenceSession.create(encodeModel(model), { intraOpNumThreads: 1 });
  const contestants = [
    ...sessions.map((s) => ({
      name: s.name,
      run: async () => s.session.runSync({ input: { data: x, dims } }),
    })),
    {
      name: 'onnxruntime-node fp32 1 thread',
      run: () => node.run({ input: new ortNode.Tensor('float32', x, dims) }),
    },
  ];
  for (let i = 0; i < warmup; i++) for (const c of contestants) await c.run();
  const samples = contestants.map(() => [] as number[]);
  for (let i = 0; i < runs; i++) {
    for (const [j, c] of contestants.entries()) {
      const t0 = performance.now();
      await c.run();
      samples[j]!.push(performance.now() - t0);
    }
  }
  const native = median(samples.at(-1)!);
  console.log(`MobileNetV2-224 + head, batch 1, median of ${runs} interleaved runs after ${warmup} warm-up`);
  console.log('| runtime | median ms | × onnxruntime-node fp32 | heap MiB |');
  console.log('|---|---|---|---|');
  for (const [j, c] of contestants.entries()) {
    const m = median(samples[j]!);
    const heap = sessions[j] ? (sessions[j]!.session.heapBytes / 2 ** 20).toFixed(1) : '';
    console.log(`| ${c.name} | ${m.toFixed(2)} | ${(m / native).toFixed(2)} | ${heap} |`);
  }
  for (const s of sessions) {
    const t = new Map<string, number>();
    for (let i = 0; i < 10; i++) s.session.runSync({ input: { data: x, dims } }, { timings: t });
    const total = [...t.values()].reduce((a, b) => a + b, 0);
    console.log(`\n${s.name}: mean ms per run by op type (10 profiled runs)`);
    console.log('| op | ms | share |');
    console.log('|---|---|---|');
    for (const [op, ms] of [...t].sort((a, b) => b[1] - a[1])) {
      console.log(`| ${op} | ${(ms / 10).toFixed(2)} | ${((100 * ms) / total).toFixed(1)}% |`);
    }
  }
  await node.release();
}

await main();
