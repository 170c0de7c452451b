import type { JpegScale } from './jpeg/decode.ts';

/** Output size a decoder is asked for, in upright (display) orientation. */
export interface DecodeTarget {
  width: number;
  height: number;
}

/**
 * Shrink-on-load factor for a JPEG of `width × height` (upright) bound for `target`: the largest
 * of 8, 4, 2 that still leaves at least a factor of two for the antialiased resize after it
 * (libvips' thumbnail rule), so the block-wise DCT shrink never decides the final detail on its own.
 * The shrink that matters is the smaller of the two axes' (the model input is filled, not fitted).
 */
export function jpegShrinkFactor(width: number, height: number, target: DecodeTarget | undefined): JpegScale {
  if (!target) return 1;
  const shrink = Math.min(width / target.width, height / target.height);
  if (shrink >= 16) return 8;
  if (shrink >= 8) return 4;
  if (shrink >= 4) return 2;
  return 1;
}
