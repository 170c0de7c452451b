/**
 * Warm inference and accuracy in Node: onnxruntime-node with one intra-op thread (the native
 * reference) and onnxruntime-web's wasm backend (the engine the edge runs), per model variant.
 */
import { loadKernelModules } from '../kernels/node-kernels.ts';
import { createEngineSession } from '../shared/engine/index.ts';
import { createOrtWebRunner } from '../shared/inference/ort-web-runner.ts';
import { writeImageTensor } from '../shared/preprocess/tensor.ts';
import { createOrtNodeRunner } from '../training/inference/ort-node-runner.ts';
import { getOrtWeb, ortWebHeapBytes } from '../training/optimize/web-runtime.ts';
import type { BenchModel } from './models.ts';
import { round, type Timing, timeRuns, timing } from './stats.ts';

export const WARMUP = 10;
export const RUNS = 30;

/** Session options per variant: the stock export gets full optimisation at load, the offline-optimised graph none. */
export const VARIANTS = {
  fp32: { file: 'model.onnx', graphOptimizationLevel: 'all' },
  optimized: { file: 'model.opt.onnx', graphOptimizationLevel: 'disabled' },
} as const;
export type Variant = keyof typeof VARIANTS;

export const variantBytes = (m: BenchModel, v: Variant): Uint8Array =>
  v === 'fp32' ? m.fp32 : m.optimized.bytes;

export function inputData(dims: number[]): Float32Array {
  const n = dims.reduce((a, b) => a * b, 1);
  return Float32Array.from({ length: n }, (_, i) => ((i * 2654435761) >>> 0) / 4294967296);
}

export async function nativeWarm(m: BenchModel): Promise<Timing> {
  const s = await createOrtNodeRunner(m.fp32, { device: 'cpu', threads: 1 });
  const x = inputData(m.dims);
  const t = timing(await timeRuns(() => s.run(s.inputNames[0]!, x, m.dims), WARMUP, RUNS));
  await s.release();
  return t;
}

export async function webWarm(
  m: BenchModel,
  v: Variant,
): Promise<Timing & { create_ms: number; first_run_ms: number }> {
  const ort = await getOrtWeb();
  let t0 = performance.now();
  // The runner loads an offline-optimised graph with optimisation disabled, a plain export with
  // all of it: VARIANTS[v].graphOptimizationLevel.
  const s = await createOrtWebRunner(ort, variantBytes(m, v), v === 'optimized');
  const create = performance.now() - t0;
  const x = inputData(m.dims);
  const run = () => s.run(s.inputNames[0]!, x, m.dims);
  t0 = performance.now();
  await run();
  const first = performance.now() - t0;
  const t = timing(await timeRuns(run, WARMUP, RUNS));
  await s.release();
  return { ...t, create_ms: round(create), first_run_ms: round(first) };
}

/**
 * The edgetune engine in Node on the plain export (SIMD128 here: Node 20 only validates the
 * relaxed-SIMD kernels with --experimental-wasm-relaxed-simd; workerd has relaxed SIMD on).
 */
export async function engineWarm(
  m: BenchModel,
): Promise<Timing & { variant: string; create_ms: number; first_run_ms: number }> {
  let t0 = performance.now();
  const s = await createEngineSession(m.fp32, loadKernelModules());
  const create = performance.now() - t0;
  const feeds = { [s.inputNames[0]!]: { data: inputData(m.dims), dims: m.dims } };
  t0 = performance.now();
  s.runSync(feeds);
  const first = performance.now() - t0;
  const t = timing(await timeRuns(async () => s.runSync(feeds), WARMUP, RUNS));
  s.release();
  return { ...t, variant: s.variant, create_ms: round(create), first_run_ms: round(first) };
}

export interface Accuracy {
  accuracy: number;
  /** Largest |Δ probability| against onnxruntime-node fp32 on the same images. */
  max_abs_diff_vs_fp32: number;
  agreement_with_fp32: number;
}

async function probabilities(
  run: (x: Float32Array, dims: number[]) => Promise<Float32Array>,
  m: BenchModel,
): Promise<Float32Array[]> {
  const spec = { ...m.manifest.preprocess, layout: 'NCHW' as const };
  const out: Float32Array[] = [];
  for (const image of m.test.images) {
    const x = new Float32Array(m.dims.reduce((a, b) => a * b, 1));
    writeImageTensor(image, spec, x, 0);
    out.push(await run(x, m.dims));
  }
  return out;
}

const argmax = (p: Float32Array) => p.reduce((best, v, i) => (v > p[best]! ? i : best), 0);

/** Held-out accuracy of fp32 in onnxruntime-node, of each variant in onnxruntime-web, and of the engine. */
export async function accuracies(m: BenchModel): Promise<Record<string, Accuracy>> {
  const probs = m.manifest.outputs.probabilities;
  const native = await createOrtNodeRunner(m.fp32, { device: 'cpu', threads: 1 });
  const ref = await probabilities(async (x, dims) => {
    const r = await native.run(native.inputNames[0]!, x, dims);
    return r[probs]!.data;
  }, m);
  await native.release();
  const score = (ps: Float32Array[]): Accuracy => {
    let correct = 0;
    let agree = 0;
    let maxd = 0;
    ps.forEach((p, i) => {
      if (argmax(p) === m.test.labels[i]) correct++;
      if (argmax(p) === argmax(ref[i]!)) agree++;
      for (let k = 0; k < p.length; k++) maxd = Math.max(maxd, Math.abs(p[k]! - ref[i]![k]!));
    });
    return {
      accuracy: round(correct / ps.length, 4),
      max_abs_diff_vs_fp32: Number(maxd.toExponential(2)),
      agreement_with_fp32: round(agree / ps.length, 4),
    };
  };
  const result: Record<string, Accuracy> = { 'onnxruntime-node fp32': score(ref) };
  const ort = await getOrtWeb();
  for (const v of Object.keys(VARIANTS) as Variant[]) {
    const s = await createOrtWebRunner(ort, variantBytes(m, v), v === 'optimized');
    const ps = await probabilities(async (x, dims) => {
      const r = await s.run(s.inputNames[0]!, x, dims);
      return r[probs]!.data;
    }, m);
    await s.release();
    result[`onnxruntime-web ${v}`] = score(ps);
  }
  const engine = await createEngineSession(m.fp32, loadKernelModules());
  const input = engine.inputNames[0]!;
  result['edgetune engine'] = score(
    await probabilities(async (x, dims) => engine.runSync({ [input]: { data: x, dims } })[probs]!.data, m),
  );
  engine.release();
  return result;
}

/** Wasm heap of onnxruntime-web in Node after the sessions above (it never shrinks). */
export const nodeWebHeapMb = (): number => round(ortWebHeapBytes() / 2 ** 20);
