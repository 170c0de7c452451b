import type { PixelData } from './resize.ts';

interface Taps {
  /** First source index per output sample. */
  start: Int32Array;
  /** Number of taps per output sample. */
  count: Int32Array;
  /** Normalised weights, `maxTaps` per output sample. */
  weights: Float64Array;
  maxTaps: number;
}

/**
 * Pillow's resampling coefficients (ImagingResample, filter BILINEAR = triangle of support 1),
 * which is also what libvips' linear reduce does: when shrinking by `scale` = in / out the
 * triangle is stretched to support `scale`, so every source pixel contributes (antialiasing);
 * when enlarging it is plain bilinear. Centres at (o + 0.5) · scale; weights normalised to sum 1.
 */
function taps(inSize: number, outSize: number): Taps {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale;
  const maxTaps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * maxTaps);
  for (let o = 0; o < outSize; o++) {
    const centre = (o + 0.5) * scale;
    const lo = Math.max(0, Math.trunc(centre - support + 0.5));
    const hi = Math.min(inSize, Math.trunc(centre + support + 0.5));
    let sum = 0;
    const n = Math.min(hi - lo, maxTaps);
    for (let i = 0; i < n; i++) {
      const t = Math.abs((i + lo - centre + 0.5) / filterScale);
      const w = t < 1 ? 1 - t : 0;
      weights[o * maxTaps + i] = w;
      sum += w;
    }
    if (sum > 0) for (let i = 0; i < n; i++) weights[o * maxTaps + i]! /= sum;
    start[o] = lo;
    count[o] = n;
  }
  return { start, count, weights, maxTaps };
}

/**
 * Separable antialiased resize (see taps): horizontal pass into float64, then vertical, rounded
 * once to float32. Fixed evaluation order, so Node and workerd give the same bits. Same size →
 * an exact copy.
 */
export function resizeTriangle(src: PixelData, outWidth: number, outHeight: number): Float32Array {
  const { width, height, channels, data } = src;
  if (!(outWidth >= 1 && outHeight >= 1 && Number.isInteger(outWidth) && Number.isInteger(outHeight))) {
    throw new RangeError(`resize target must be positive integers, got ${outWidth}×${outHeight}`);
  }
  if (data.length !== width * height * channels || width < 1 || height < 1) {
    throw new RangeError(`pixel data has ${data.length} values; ${width}×${height}×${channels} expected`);
  }
  const xs = taps(width, outWidth);
  const ys = taps(height, outHeight);
  const mid = new Float64Array(outWidth * height * channels);
  for (let y = 0; y < height; y++) {
    const row = y * width * channels;
    for (let ox = 0; ox < outWidth; ox++) {
      const s = xs.start[ox]!;
      const n = xs.count[ox]!;
      const w0 = ox * xs.maxTaps;
      for (let c = 0; c < channels; c++) {
        let acc = 0;
        for (let i = 0; i < n; i++) acc += xs.weights[w0 + i]! * data[row + (s + i) * channels + c]!;
        mid[(y * outWidth + ox) * channels + c] = acc;
      }
    }
  }
  const out = new Float32Array(outWidth * outHeight * channels);
  const midStride = outWidth * channels;
  for (let oy = 0; oy < outHeight; oy++) {
    const s = ys.start[oy]!;
    const n = ys.count[oy]!;
    const w0 = oy * ys.maxTaps;
    for (let k = 0; k < midStride; k++) {
      let acc = 0;
      for (let i = 0; i < n; i++) acc += ys.weights[w0 + i]! * mid[(s + i) * midStride + k]!;
      out[oy * midStride + k] = acc;
    }
  }
  return out;
}
