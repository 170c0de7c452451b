import type { PreprocessSpec } from '../manifest/preprocess.ts';
import { decodeImage } from './decode.ts';
import { checkImageLimits, type ImageHeader, readImageHeader } from './header.ts';
import { inflatePngNative } from './png-inflate.ts';
import { decodePngResized, streamsPng } from './png-stream.ts';
import { releaseBuffer } from './release.ts';
import { imageToTensor, tensorDims, tensorSize, writeSampledTensor } from './tensor.ts';
import type { ImageLimits } from './types.ts';
import type { DecodeTarget } from './shrink.ts';

export interface PreprocessedImage {
  /** Input values laid out per spec.layout. */
  data: Float32Array;
  /** [1, C, H, W] or [1, H, W, C]. */
  dims: [number, number, number, number];
  /** What the upload was: format and original size. */
  header: ImageHeader;
}

/**
 * The single path from encoded image bytes to a model input, used by training and the edge alike:
 * header check against `limits` (before any decompression) → decode (JPEG/PNG/WebP/GIF, alpha on
 * white, EXIF orientation applied; with `resize: 'triangle'`/`'triangle-fast'` JPEGs shrink on load towards the
 * input size) → channels → resize per spec → normalise (see writeImageTensor).
 */
export function preprocessBytes(
  bytes: Uint8Array,
  spec: PreprocessSpec,
  limits: ImageLimits = {},
  pngData?: Uint8Array,
  /** `bytes`' header when the caller has read it already (preprocessBytesAsync). */
  header: ImageHeader = readImageHeader(bytes),
): PreprocessedImage {
  if (spec.resize !== 'bilinear' && streamsPng(header, spec.width, spec.height)) {
    // Large PNGs stream into the resize: the limit counts what is held at once (png-stream.ts).
    checkImageLimits(header, bytes.length, limits, 1, spec.width);
    const resized = decodePngResized(bytes, header, spec.width, spec.height, spec.channels === 1, pngData);
    const data = new Float32Array(tensorSize(spec));
    writeSampledTensor(resized.data, resized.channels, spec, data, 0);
    releaseBuffer(resized.data);
    return { data, dims: tensorDims(spec, 1), header };
  }
  const image = decodeImage(bytes, {
    ...limits,
    keepGrey: spec.channels === 1,
    ...decodeTargetFor(spec),
    pngData,
    header,
  });
  const data = imageToTensor(image, spec);
  // The decoded picture was this call's alone (release.ts says why now).
  releaseBuffer(image.data, bytes);
  return { data, dims: tensorDims(spec, 1), header: image.header };
}

/**
 * preprocessBytes for hosts that can wait (the edge): a PNG's image data is first inflated by the
 * runtime's native zlib (png-inflate.ts), after the header has passed the same limits; everything
 * else, and any PNG that path declines, goes the synchronous way. The same tensor bits.
 */
export async function preprocessBytesAsync(
  bytes: Uint8Array,
  spec: PreprocessSpec,
  limits: ImageLimits = {},
): Promise<PreprocessedImage> {
  const header = readImageHeader(bytes);
  if (header.format !== 'png') return preprocessBytes(bytes, spec, limits, undefined, header);
  const streams = spec.resize !== 'bilinear' && streamsPng(header, spec.width, spec.height);
  if (streams) checkImageLimits(header, bytes.length, limits, 1, spec.width);
  else checkImageLimits(header, bytes.length, limits);
  const inflated = await inflatePngNative(bytes, header);
  const result = preprocessBytes(bytes, spec, limits, inflated, header);
  if (inflated) releaseBuffer(inflated);
  return result;
}

/**
 * What decodeImage may shrink towards under this spec: the input size for `triangle` (leaving 2×
 * for the resize) and `triangle-fast` (leaving 1×); nothing for `bilinear`, whose versions were
 * trained on full-size decodes and must keep getting them.
 */
export function decodeTargetFor(spec: PreprocessSpec): { target?: DecodeTarget } {
  if (spec.resize === 'bilinear') return {};
  const target: DecodeTarget = { width: spec.width, height: spec.height };
  if (spec.resize === 'triangle-fast') target.leave = 1;
  return { target };
}
