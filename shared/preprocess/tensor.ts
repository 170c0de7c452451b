import { EdgetuneError } from '../errors.ts';
import type { PreprocessSpec } from '../manifest/preprocess.ts';
import { resizeBilinear } from './resize.ts';
import { resizeTriangle } from './resize-triangle.ts';
import { releaseBuffer } from './release.ts';
import type { RawImage } from './types.ts';

/**
 * Grey from RGB with the ITU-R BT.601 luma weights, rounded half up in exact integer arithmetic:
 *   Y = floor((299·R + 587·G + 114·B + 500) / 1000)
 * Grey replicated to RGB therefore comes back unchanged (R = G = B = v gives Y = v).
 */
export function rgbToGrey(image: RawImage): RawImage {
  if (image.channels === 1) return image;
  const pixels = image.width * image.height;
  const src = image.data;
  const data = new Uint8Array(pixels);
  for (let p = 0; p < pixels; p++) {
    data[p] = Math.floor((299 * src[3 * p]! + 587 * src[3 * p + 1]! + 114 * src[3 * p + 2]! + 500) / 1000);
  }
  return { width: image.width, height: image.height, channels: 1, data };
}

/** Tensor dimensions for a batch under this spec: [N, C, H, W] or [N, H, W, C]. */
export function tensorDims(spec: PreprocessSpec, batch = 1): [number, number, number, number] {
  return spec.layout === 'NCHW'
    ? [batch, spec.channels, spec.height, spec.width]
    : [batch, spec.height, spec.width, spec.channels];
}

/** Values per image: channels × height × width. */
export function tensorSize(spec: PreprocessSpec): number {
  return spec.channels * spec.height * spec.width;
}

function perChannel(values: readonly number[], channels: number, name: string): number[] {
  if (values.length === 1) return Array.from({ length: channels }, () => values[0]!);
  if (values.length === channels) return values.slice();
  throw new EdgetuneError(
    'bad_request',
    `preprocess.${name} has ${values.length} values; expected 1 or ${channels} (one per channel)`,
  );
}

/**
 * One image → its input values, written into `out` at `offset` (tensorSize(spec) values), so
 * batches are filled without copies. The steps, in this order:
 * 1. channels: colour → grey by rgbToGrey when the spec wants 1 channel (on 8-bit values);
 * 2. resize to spec.width × spec.height per spec.resize: resizeBilinear (half-pixel, no antialiasing)
 *    or resizeTriangle (antialiased), float32;
 * 3. grey → 3 channels by repeating the value, when the spec wants 3;
 * 4. channel c reads source channel 2 − c when the spec says BGR;
 *    v = invert ? 255 − v : v, then (v / 255 · scale − mean[c]) / std[c] in float64, stored as float32;
 * 5. laid out NCHW (planes) or NHWC (interleaved).
 */
export function writeImageTensor(
  image: RawImage,
  spec: PreprocessSpec,
  out: Float32Array,
  offset: number,
): void {
  const { width, height, channels } = spec;
  if (image.data.length !== image.width * image.height * image.channels) {
    throw new EdgetuneError(
      'invalid_image',
      `image data has ${image.data.length} bytes; ${image.width}×${image.height}×${image.channels} expected`,
    );
  }
  checkTensorArgs(spec, out, offset);
  const source = channels === 1 ? rgbToGrey(image) : image;
  const resize = spec.resize === 'bilinear' ? resizeBilinear : resizeTriangle;
  const sameSize = source.width === width && source.height === height;
  const sampled = sameSize ? source.data : resize(source, width, height);
  writeSampledTensor(sampled, source.channels, spec, out, offset);
  // The resized samples (and a grey copy made here) are temporaries: see release.ts.
  if (!sameSize) releaseBuffer(sampled);
  if (source !== image) releaseBuffer(source.data);
}

/**
 * Steps 3–5 of writeImageTensor for samples already at spec.width × spec.height (grey or RGB
 * interleaved), e.g. a picture streamed through the resize while it decoded.
 */
export function writeSampledTensor(
  sampled: ArrayLike<number>,
  srcChannels: number,
  spec: PreprocessSpec,
  out: Float32Array,
  offset: number,
): void {
  const { width, height, channels } = spec;
  const { mean, std } = checkTensorArgs(spec, out, offset);
  const pixels = width * height;
  const planar = spec.layout === 'NCHW';
  const swap = spec.channelOrder === 'bgr' && channels === 3;
  for (let p = 0; p < pixels; p++) {
    for (let c = 0; c < channels; c++) {
      const raw = sampled[p * srcChannels + (srcChannels === 1 ? 0 : swap ? 2 - c : c)]!;
      const v = spec.invert ? 255 - raw : raw;
      const value = ((v / 255) * spec.scale - mean[c]!) / std[c]!;
      out[offset + (planar ? c * pixels + p : p * channels + c)] = value;
    }
  }
}

/** Before any work: the buffer fits and the normalisation is usable. */
function checkTensorArgs(
  spec: PreprocessSpec,
  out: Float32Array,
  offset: number,
): { mean: number[]; std: number[] } {
  if (offset < 0 || offset + tensorSize(spec) > out.length) {
    throw new RangeError(
      `tensor buffer too small: need ${offset + tensorSize(spec)} values, have ${out.length}`,
    );
  }
  const mean = perChannel(spec.mean, spec.channels, 'mean');
  const std = perChannel(spec.std, spec.channels, 'std');
  if (std.some((s) => s === 0 || !Number.isFinite(s))) {
    throw new EdgetuneError('bad_request', 'preprocess.std values must be finite and non-zero');
  }
  return { mean, std };
}

/** One image → a [1, …] input tensor's data laid out per spec (see writeImageTensor). */
export function imageToTensor(image: RawImage, spec: PreprocessSpec): Float32Array {
  const out = new Float32Array(tensorSize(spec));
  writeImageTensor(image, spec, out, 0);
  return out;
}

/** A batch of images → one [N, …] tensor's data. */
export function imagesToTensor(images: readonly RawImage[], spec: PreprocessSpec): Float32Array {
  const size = tensorSize(spec);
  const out = new Float32Array(size * images.length);
  for (const [i, image] of images.entries()) writeImageTensor(image, spec, out, i * size);
  return out;
}
