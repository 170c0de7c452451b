import type { PreprocessSpec } from '../manifest/preprocess.ts';
import { decodeImage } from './decode.ts';
import type { ImageHeader } from './header.ts';
import { imageToTensor, tensorDims } from './tensor.ts';
import type { ImageLimits } from './types.ts';

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
 * header check against `limits` (before any decompression) → decode (PNG/JPEG, alpha on white)
 * → channels → half-pixel bilinear resize → normalise (see writeImageTensor).
 */
export function preprocessBytes(
  bytes: Uint8Array,
  spec: PreprocessSpec,
  limits: ImageLimits = {},
): PreprocessedImage {
  const image = decodeImage(bytes, { ...limits, keepGrey: spec.channels === 1 });
  return { data: imageToTensor(image, spec), dims: tensorDims(spec, 1), header: image.header };
}
