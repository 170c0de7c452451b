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
 * once to float32. Fixed evaluation order — every output is 0 + w0·x0 + w1·x1 + … in tap order —
 * so Node and workerd give the same bits. Same size → an exact copy.
 *
 * The loops are written per case (8-bit source with 1 or 3 channels, anything else) and the
 * vertical pass runs tap by tap over whole rows: V8 then keeps each loop on one typed-array kind
 * and walks memory in order. The sums and their order are those of the plain per-sample loops.
 */
export function resizeTriangle(src: PixelData, outWidth: number, outHeight: number): Float32Array {
  const { width, height, channels, data } = src;
  if (data.length !== width * height * channels || width < 1 || height < 1) {
    throw new RangeError(`pixel data has ${data.length} values; ${width}×${height}×${channels} expected`);
  }
  const resizer = new TriangleResizer(width, height, channels, outWidth, outHeight);
  resizer.addRows(data, height);
  return resizer.finish();
}

/**
 * resizeTriangle fed a band of rows at a time (top to bottom): the horizontal pass runs per row as
 * rows arrive, so a decoder can stream a picture through it without ever holding it whole; only
 * the horizontally reduced rows (outWidth × height) are kept for the vertical pass. The same
 * arithmetic as one call with the whole picture.
 */
export class TriangleResizer {
  private readonly xs: Taps;
  private readonly ys: Taps;
  private readonly mid: Float64Array;
  private rows = 0;

  constructor(
    readonly width: number,
    readonly height: number,
    readonly channels: number,
    readonly outWidth: number,
    readonly outHeight: number,
  ) {
    if (!(outWidth >= 1 && outHeight >= 1 && Number.isInteger(outWidth) && Number.isInteger(outHeight))) {
      throw new RangeError(`resize target must be positive integers, got ${outWidth}×${outHeight}`);
    }
    this.xs = taps(width, outWidth);
    this.ys = taps(height, outHeight);
    this.mid = new Float64Array(outWidth * height * channels);
  }

  /** The next `n` rows, interleaved samples (`n` × width × channels values). */
  addRows(data: PixelData['data'], n: number): void {
    const { width, channels, outWidth, xs } = this;
    if (n < 0 || this.rows + n > this.height || data.length !== n * width * channels) {
      throw new RangeError(`pixel rows have ${data.length} values; ${n}×${width}×${channels} expected`);
    }
    const mid = this.mid.subarray(this.rows * outWidth * channels);
    if (data instanceof Uint8Array && channels === 3) horizontalRgb8(data, width, n, xs, outWidth, mid);
    else if (data instanceof Uint8Array && channels === 1) horizontalGrey8(data, width, n, xs, outWidth, mid);
    else horizontalAny(data, width, n, channels, xs, outWidth, mid);
    this.rows += n;
  }

  finish(): Float32Array {
    if (this.rows !== this.height) throw new RangeError(`${this.rows} of ${this.height} rows were given`);
    return vertical(this.mid, this.outWidth * this.channels, this.ys, this.outHeight);
  }
}

function horizontalRgb8(
  data: Uint8Array,
  width: number,
  height: number,
  xs: Taps,
  outWidth: number,
  mid: Float64Array,
): void {
  const { start, count, weights, maxTaps } = xs;
  let m = 0;
  for (let y = 0; y < height; y++) {
    const row = y * width * 3;
    for (let ox = 0; ox < outWidth; ox++) {
      const n = count[ox]!;
      const w0 = ox * maxTaps;
      let p = row + start[ox]! * 3;
      let r = 0;
      let g = 0;
      let b = 0;
      for (let i = 0; i < n; i++, p += 3) {
        const w = weights[w0 + i]!;
        r += w * data[p]!;
        g += w * data[p + 1]!;
        b += w * data[p + 2]!;
      }
      mid[m++] = r;
      mid[m++] = g;
      mid[m++] = b;
    }
  }
}

function horizontalGrey8(
  data: Uint8Array,
  width: number,
  height: number,
  xs: Taps,
  outWidth: number,
  mid: Float64Array,
): void {
  const { start, count, weights, maxTaps } = xs;
  let m = 0;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let ox = 0; ox < outWidth; ox++) {
      const n = count[ox]!;
      const w0 = ox * maxTaps;
      const p = row + start[ox]!;
      let acc = 0;
      for (let i = 0; i < n; i++) acc += weights[w0 + i]! * data[p + i]!;
      mid[m++] = acc;
    }
  }
}

function horizontalAny(
  data: PixelData['data'],
  width: number,
  height: number,
  channels: number,
  xs: Taps,
  outWidth: number,
  mid: Float64Array,
): void {
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
}

function vertical(mid: Float64Array, stride: number, ys: Taps, outHeight: number): Float32Array {
  const out = new Float32Array(stride * outHeight);
  const acc = new Float64Array(stride);
  for (let oy = 0; oy < outHeight; oy++) {
    const s = ys.start[oy]!;
    const n = ys.count[oy]!;
    const w0 = oy * ys.maxTaps;
    acc.fill(0);
    for (let i = 0; i < n; i++) {
      const w = ys.weights[w0 + i]!;
      const r = (s + i) * stride;
      for (let k = 0; k < stride; k++) acc[k] += w * mid[r + k]!;
    }
    out.set(acc, oy * stride);
  }
  return out;
}
