/**
 * Test helper: run a tfjs layers model and its ONNX conversion (onnxruntime-node) on the same
 * seeded random input and report the largest absolute difference per output.
 */
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { createRng } from '../../../shared/random.ts';
import {
  type ConvertedModel,
  type ConvertOptions,
  convertLayersModel,
} from '../../../training/backbones/convert/index.ts';
import { initTf } from '../../../training/tf/backend.ts';

export async function useWasm(): Promise<void> {
  await initTf({ backend: 'wasm' });
}

/** Uniform values in [lo, hi) from a seeded generator. */
export function randomArray(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * rng());
}

/** NHWC → NCHW copy of a rank-4 array. */
export function nhwcToNchw(data: Float32Array, [n, h, w, c]: readonly number[]): Float32Array {
  const out = new Float32Array(data.length);
  for (let b = 0; b < n; b++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let k = 0; k < c; k++) out[((b * c + k) * h + y) * w + x] = data[((b * h + y) * w + x) * c + k];
  return out;
}

/** Overwrites every weight with seeded random values (BN variances kept positive). */
export function randomizeWeights(model: tf.LayersModel, seed: number): void {
  let s = seed;
  for (const layer of model.layers) {
    const weights = layer.getWeights();
    if (weights.length === 0) continue;
    layer.setWeights(
      weights.map((w, i) => {
        const isVariance = layer.getClassName() === 'BatchNormalization' && i === weights.length - 1;
        const data = randomArray(w.size, s++, isVariance ? 0.5 : -0.5, isVariance ? 1.5 : 0.5);
        return tf.tensor(data, w.shape);
      }),
    );
  }
}

export async function runOnnx(
  bytes: Uint8Array,
  feeds: Record<string, { data: Float32Array; dims: number[] }>,
  outputs?: string[],
): Promise<Record<string, { data: Float32Array; dims: readonly number[] }>> {
  const session = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  try {
    const inputs: Record<string, ort.Tensor> = {};
    for (const [k, v] of Object.entries(feeds)) inputs[k] = new ort.Tensor('float32', v.data, v.dims);
    const res = await session.run(inputs, outputs ?? session.outputNames);
    const out: Record<string, { data: Float32Array; dims: readonly number[] }> = {};
    for (const [k, v] of Object.entries(res)) out[k] = { data: v.data as Float32Array, dims: v.dims };
    return out;
  } finally {
    await session.release();
  }
}

export interface ParityResult {
  converted: ConvertedModel;
  /** Max |tfjs - onnx| per model output, in output order. */
  maxAbs: number[];
  /** tfjs outputs (Keras layout). */
  expected: Float32Array[];
}

/**
 * Predicts with tfjs on a random NHWC batch and with onnxruntime on the same data (NCHW);
 * rank-4 ONNX outputs are compared in the Keras (NHWC) layout.
 */
export async function checkParity(
  model: tf.LayersModel,
  batch: number,
  options: ConvertOptions & { seed?: number; lo?: number; hi?: number } = {},
): Promise<ParityResult> {
  const shape = [batch, ...(model.inputs[0].shape.slice(1) as number[])];
  const size = shape.reduce((a, b) => a * b, 1);
  const x = randomArray(size, options.seed ?? 1, options.lo ?? -1, options.hi ?? 1);
  const xt = tf.tensor(x, shape);
  const predicted = model.predict(xt);
  const list = Array.isArray(predicted) ? predicted : [predicted];
  const expected = list.map((t) => t.dataSync() as Float32Array);
  const expectedShapes = list.map((t) => t.shape);
  tf.dispose([xt, ...list]);

  const converted = convertLayersModel(model, options);
  const feedData = shape.length === 4 ? nhwcToNchw(x, shape) : x;
  const feedDims = shape.length === 4 ? [shape[0], shape[3], shape[1], shape[2]] : shape;
  const res = await runOnnx(converted.bytes, { [converted.input.name]: { data: feedData, dims: feedDims } });
  const maxAbs = converted.outputs.slice(0, expected.length).map((o, i) => {
    let got = res[o.name].data;
    const s = expectedShapes[i];
    if (s.length === 4) got = nchwToNhwc(got, [s[0], s[3], s[1], s[2]]);
    if (got.length !== expected[i].length)
      throw new Error(`output ${o.name}: ${got.length} vs ${expected[i].length} values`);
    let m = 0;
    for (let k = 0; k < got.length; k++) m = Math.max(m, Math.abs(got[k] - expected[i][k]));
    return m;
  });
  return { converted, maxAbs, expected };
}

export function nchwToNhwc(data: Float32Array, [n, c, h, w]: readonly number[]): Float32Array {
  const out = new Float32Array(data.length);
  for (let b = 0; b < n; b++)
    for (let k = 0; k < c; k++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) out[((b * h + y) * w + x) * c + k] = data[((b * c + k) * h + y) * w + x];
  return out;
}
