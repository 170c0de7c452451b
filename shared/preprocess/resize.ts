import type { RawImage } from './types.ts';

/** Interleaved pixels (row-major, `channels` values per pixel) as 8-bit or float samples. */
export interface PixelData {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array | Float32Array | Float64Array;
}

interface AxisTaps {
  lo: Int32Array;
  hi: Int32Array;
  frac: Float64Array;
}

/**
 * Sampling positions along one axis, exactly ONNX Resize with `mode=linear`,
 * `coordinate_transformation_mode=half_pixel`, no antialias (what onnxruntime runs):
 *   x_in = (x_out + 0.5) · in / out − 0.5, clamped to [0, in − 1]
 *   lo = floor(x_in), hi = min(lo + 1, in − 1), frac = x_in − lo
 * Clamping equals the spec's edge padding. Computed in float64.
 */
function axisTaps(inSize: number, outSize: number): AxisTaps {
  const lo = new Int32Array(outSize);
  const hi = new Int32Array(outSize);
  const frac = new Float64Array(outSize);
  for (let o = 0; o < outSize; o++) {
    const x = Math.min(Math.max(((o + 0.5) * inSize) / outSize - 0.5, 0), inSize - 1);
    const l = Math.floor(x);
    lo[o] = l;
    hi[o] = Math.min(l + 1, inSize - 1);
    frac[o] = x - l;
  }
  return { lo, hi, frac };
}

/**
 * Bilinear resize with half-pixel centres (see axisTaps), per channel:
 *   top = p[y0][x0]·(1 − fx) + p[y0][x1]·fx,  bottom = p[y1][x0]·(1 − fx) + p[y1][x1]·fx
 *   out = top·(1 − fy) + bottom·fy
 * evaluated in float64 in exactly this order and rounded once to float32, so every IEEE-754
 * runtime (Node, workerd, browsers) produces the same bits. No antialiasing: strong
 * downscaling aliases exactly as ONNX Resize does. Same size → an exact copy.
 */
/** Both resizers' argument checks: a target of positive integers… */
export function checkResizeTarget(outWidth: number, outHeight: number): void {
  if (!(outWidth >= 1 && outHeight >= 1 && Number.isInteger(outWidth) && Number.isInteger(outHeight))) {
    throw new RangeError(`resize target must be positive integers, got ${outWidth}×${outHeight}`);
  }
}

/** …and pixel data of the size it claims. */
export function checkPixelData({ width, height, channels, data }: PixelData): void {
  if (data.length !== width * height * channels || width < 1 || height < 1) {
    throw new RangeError(`pixel data has ${data.length} values; ${width}×${height}×${channels} expected`);
  }
}

export function resizeBilinear(src: PixelData, outWidth: number, outHeight: number): Float32Array {
  const { width, height, channels, data } = src;
  checkResizeTarget(outWidth, outHeight);
  checkPixelData(src);
  const xs = axisTaps(width, outWidth);
  const ys = axisTaps(height, outHeight);
  const out = new Float32Array(outWidth * outHeight * channels);
  const rowStride = width * channels;
  let k = 0;
  for (let oy = 0; oy < outHeight; oy++) {
    const r0 = ys.lo[oy]! * rowStride;
    const r1 = ys.hi[oy]! * rowStride;
    const fy = ys.frac[oy]!;
    for (let ox = 0; ox < outWidth; ox++) {
      const c0 = xs.lo[ox]! * channels;
      const c1 = xs.hi[ox]! * channels;
      const fx = xs.frac[ox]!;
      for (let c = 0; c < channels; c++) {
        const top = data[r0 + c0 + c]! * (1 - fx) + data[r0 + c1 + c]! * fx;
        const bottom = data[r1 + c0 + c]! * (1 - fx) + data[r1 + c1 + c]! * fx;
        out[k++] = top * (1 - fy) + bottom * fy;
      }
    }
  }
  return out;
}

/** Resize an 8-bit image (for thumbnails and reports): resizeBilinear, then round half up. */
export function resizeImage(image: RawImage, outWidth: number, outHeight: number): RawImage {
  if (image.width === outWidth && image.height === outHeight) return image;
  const f = resizeBilinear(image, outWidth, outHeight);
  const data = new Uint8Array(f.length);
  for (let i = 0; i < f.length; i++) data[i] = Math.floor(f[i]! + 0.5);
  return { width: outWidth, height: outHeight, channels: image.channels, data };
}
