/**
 * Keras stores weights channels-last; ONNX convolutions want OIHW. These are pure index
 * shuffles (and the BatchNormalization fold), kept apart from graph building so they can be
 * tested on their own.
 */

/** Conv2D kernel [kh, kw, in, out] → [out, in, kh, kw]. */
export function hwioToOihw(kernel: Float32Array, shape: readonly number[]): Float32Array {
  const [kh, kw, ci, co] = shape;
  const out = new Float32Array(kernel.length);
  for (let h = 0; h < kh; h++)
    for (let w = 0; w < kw; w++)
      for (let i = 0; i < ci; i++)
        for (let o = 0; o < co; o++) {
          out[((o * ci + i) * kh + h) * kw + w] = kernel[((h * kw + w) * ci + i) * co + o];
        }
  return out;
}

/**
 * DepthwiseConv2D kernel [kh, kw, in, mult] → [in*mult, 1, kh, kw] for a grouped Conv with
 * group = in. TF orders depthwise output channels as c*mult + m, which is exactly ONNX's
 * grouping (group c owns output channels c*mult .. c*mult+mult-1).
 */
export function depthwiseToOihw(kernel: Float32Array, shape: readonly number[]): Float32Array {
  const [kh, kw, ci, mult] = shape;
  const out = new Float32Array(kernel.length);
  for (let h = 0; h < kh; h++)
    for (let w = 0; w < kw; w++)
      for (let c = 0; c < ci; c++)
        for (let m = 0; m < mult; m++) {
          out[((c * mult + m) * kh + h) * kw + w] = kernel[((h * kw + w) * ci + c) * mult + m];
        }
  return out;
}

/** Any channels-last [H, W, C] array (e.g. PReLU alphas) → [C, H, W]. */
export function hwcToChw(data: Float32Array, shape: readonly number[]): Float32Array {
  const [h, w, c] = shape;
  const out = new Float32Array(data.length);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let k = 0; k < c; k++) out[(k * h + y) * w + x] = data[(y * w + x) * c + k];
  return out;
}

export interface BatchNormParams {
  gamma: Float32Array;
  beta: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
  epsilon: number;
}

/** y = x*scale + shift, the inference-time form of BatchNormalization (computed in float64). */
export function batchNormAffine(bn: BatchNormParams): { scale: Float32Array; shift: Float32Array } {
  const n = bn.mean.length;
  const scale = new Float32Array(n);
  const shift = new Float32Array(n);
  for (let c = 0; c < n; c++) {
    const s = bn.gamma[c] / Math.sqrt(bn.variance[c] + bn.epsilon);
    scale[c] = s;
    shift[c] = bn.beta[c] - bn.mean[c] * s;
  }
  return { scale, shift };
}

/**
 * Folds a following BatchNormalization into an OIHW conv: each output channel's filter is scaled
 * and the bias becomes (bias - mean) * s + beta. Returns new arrays.
 */
export function foldBatchNorm(
  weight: Float32Array,
  bias: Float32Array | undefined,
  bn: BatchNormParams,
): { weight: Float32Array; bias: Float32Array } {
  const outChannels = bn.mean.length;
  const perChannel = weight.length / outChannels;
  const folded = new Float32Array(weight.length);
  const newBias = new Float32Array(outChannels);
  for (let o = 0; o < outChannels; o++) {
    const s = bn.gamma[o] / Math.sqrt(bn.variance[o] + bn.epsilon);
    for (let k = 0; k < perChannel; k++) folded[o * perChannel + k] = weight[o * perChannel + k] * s;
    newBias[o] = ((bias?.[o] ?? 0) - bn.mean[o]) * s + bn.beta[o];
  }
  return { weight: folded, bias: newBias };
}
