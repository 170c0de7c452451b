import { checkPixelData, checkResizeTarget, type PixelData } from './resize.ts';
import { type Taps, WasmTriangleResize } from './resize-wasm.ts';

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
 */
export function resizeTriangle(src: PixelData, outWidth: number, outHeight: number): Float32Array {
  const { width, height, channels, data } = src;
  checkPixelData(src);
  const resizer = new TriangleResizer(width, height, channels, outWidth, outHeight);
  resizer.addRows(data, height);
  return resizer.finish();
}

/**
 * resizeTriangle fed a band of rows at a time (top to bottom): the horizontal pass runs per row as
 * rows arrive, so a decoder can stream a picture through it without ever holding it whole; only
 * the horizontally reduced rows (outWidth × height) are kept for the vertical pass. The same
 * arithmetic as one call with the whole picture.
 *
 * 8-bit rows (what every decoder produces) run in WebAssembly SIMD (resize-wasm.ts, ~3× faster
 * than these loops in V8); float samples run in the TypeScript loops below, which are also the
 * reference the kernels are tested against. Both compute the same sums in the same order.
 */
export class TriangleResizer {
  private readonly xs: Taps;
  private readonly ys: Taps;
  private mid: Float64Array | undefined;
  private wasm: WasmTriangleResize | undefined;
  private rows = 0;

  constructor(
    readonly width: number,
    readonly height: number,
    readonly channels: number,
    readonly outWidth: number,
    readonly outHeight: number,
  ) {
    checkResizeTarget(outWidth, outHeight);
    this.xs = taps(width, outWidth);
    this.ys = taps(height, outHeight);
  }

  /**
   * The next `n` rows, interleaved samples (`n` × width × channels values). The first band picks
   * the implementation (8-bit → WebAssembly, float → TypeScript); later bands must be the same kind.
   */
  addRows(data: PixelData['data'], n: number): void {
    const { width, height, channels, outWidth, xs } = this;
    if (n < 0 || this.rows + n > height || data.length !== n * width * channels) {
      throw new RangeError(`pixel rows have ${data.length} values; ${n}×${width}×${channels} expected`);
    }
    const bytes = data instanceof Uint8Array;
    if (!this.wasm && !this.mid) {
      if (bytes)
        this.wasm = new WasmTriangleResize(width, height, channels, outWidth, this.outHeight, xs, this.ys);
      else this.mid = new Float64Array(outWidth * height * channels);
    }
    if (bytes !== (this.wasm !== undefined)) throw new RangeError('8-bit and float rows cannot be mixed');
    if (this.wasm) this.wasm.addRows(data as Uint8Array, n);
    else
      horizontalAny(
        data,
        width,
        n,
        channels,
        xs,
        outWidth,
        this.mid!.subarray(this.rows * outWidth * channels),
      );
    this.rows += n;
  }

  finish(): Float32Array {
    if (this.rows !== this.height) throw new RangeError(`${this.rows} of ${this.height} rows were given`);
    if (this.wasm) return this.wasm.finish();
    return vertical(this.mid!, this.outWidth * this.channels, this.ys, this.outHeight);
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
