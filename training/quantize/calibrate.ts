/**
 * Activation calibration: the fp32 model runs in onnxruntime-node on calibration images (the
 * training images, through the shared preprocessing) with every activation that feeds a quantized
 * op added as an output. Per tensor it keeps the exact min/max and a strided sample of values,
 * from which the percentile and MSE methods read their clipping ranges.
 */
import type { PreprocessSpec } from '../../shared/manifest/preprocess.ts';
import { addOutputs } from '../../shared/onnx/surgery.ts';
import { decodeModel, encodeModel } from '../../shared/onnx/proto.ts';
import { runImages } from '../../shared/preprocess/run-images.ts';
import { writeImageTensor } from '../../shared/preprocess/tensor.ts';
import type { RawImage } from '../../shared/preprocess/types.ts';
import { createOrtNodeRunner } from '../inference/ort-node-runner.ts';
import { mseRange } from './mse-range.ts';
import type { ActivationBits } from './qdq.ts';

export interface Range {
  min: number;
  max: number;
}

export type CalibrationMethod = 'minmax' | 'percentile' | 'mse';
export const CALIBRATION_METHODS: readonly CalibrationMethod[] = ['minmax', 'percentile', 'mse'];

/** Percentile of |values| kept by the percentile method (the rest saturate). */
export const PERCENTILE = 99.99;
/** Values sampled per tensor for the percentile (bounded memory on large activations). */
const SAMPLE_CAP = 1 << 18;

interface Stats {
  min: number;
  max: number;
  seen: number;
  sample: number[];
}

export interface Calibration {
  /** Per tensor, for each method. */
  ranges: Record<CalibrationMethod, Map<string, Range>>;
  samples: number;
  /** Values per image of each tensor (how much work an op reading it does). */
  elements: Map<string, number>;
}

export async function calibrate(
  bytes: Uint8Array,
  tensors: readonly string[],
  images: readonly RawImage[],
  preprocess: PreprocessSpec,
  activationBits: ActivationBits,
): Promise<Calibration> {
  const spec = { ...preprocess, layout: 'NCHW' as const };
  const graphInput = decodeModel(bytes).graph?.input?.[0]?.name ?? '';
  const extra = tensors.filter((t) => t !== graphInput);
  const withOutputs = encodeModel(addOutputs(decodeModel(bytes), extra));
  const runner = await createOrtNodeRunner(withOutputs, { device: 'cpu' });
  const elements = new Map<string, number>();
  const stats = new Map<string, Stats>(
    tensors.map((t) => [t, { min: Infinity, max: -Infinity, seen: 0, sample: [] }]),
  );
  const observe = (name: string, data: Float32Array, n: number) => {
    const s = stats.get(name)!;
    const perImage = data.length / n;
    elements.set(name, perImage);
    // A stride that keeps roughly SAMPLE_CAP values over all calibration images.
    const stride = Math.max(1, Math.floor((perImage * images.length) / SAMPLE_CAP));
    let min = s.min;
    let max = s.max;
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    s.min = min;
    s.max = max;
    for (let i = (stride - (s.seen % stride)) % stride; i < data.length; i += stride) s.sample.push(data[i]!);
    s.seen += data.length;
  };
  try {
    await runImages(
      runner,
      images.length,
      (i) => images[i]!,
      preprocess,
      (_start, n, outputs) => {
        for (const name of extra) observe(name, outputs[name]!, n);
      },
      { outputs: extra, batchSize: 4, fixedBatch: runner.fixedBatch },
    );
  } finally {
    await runner.release();
  }
  if (extra.length !== tensors.length) {
    // The graph input itself: the preprocessed images.
    for (const image of images) {
      const data = new Float32Array(spec.channels * spec.height * spec.width);
      writeImageTensor(image, spec, data, 0);
      observe(graphInput, data, 1);
    }
  }
  const minmax = new Map<string, Range>();
  const percentile = new Map<string, Range>();
  const mse = new Map<string, Range>();
  for (const [name, s] of stats) {
    minmax.set(name, { min: s.min, max: s.max });
    const sorted = Float64Array.from(s.sample).sort();
    const at = (q: number) =>
      sorted[Math.min(sorted.length - 1, Math.max(0, Math.round((q / 100) * (sorted.length - 1))))]!;
    // Never wider than min/max (the sample is a subset); a one-sided tensor (post-ReLU) keeps its 0.
    percentile.set(name, {
      min: Math.max(s.min, at(100 - PERCENTILE)),
      max: Math.min(s.max, at(PERCENTILE)),
    });
    mse.set(name, mseRange(sorted, { min: s.min, max: s.max }, activationBits));
  }
  return { ranges: { minmax, percentile, mse }, samples: images.length, elements };
}
