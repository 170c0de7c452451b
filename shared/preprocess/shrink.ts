import type { JpegScale } from './jpeg/decode.ts';

/** Output size a decoder is asked for, in upright (display) orientation. */
export interface DecodeTarget {
  width: number;
  height: number;
  /**
   * The factor the resize must still have after shrink-on-load: 2 (the default; libvips'
   * thumbnail rule) or 1 (sharp's default `fastShrinkOnLoad`).
   */
  leave?: 1 | 2;
}

/**
 * Shrink-on-load factor for a JPEG of `width × height` (upright) bound for `target`: the largest
 * of 8, 4, 2 that still leaves at least `target.leave` (default 2) for the antialiased resize
 * after it. With 2 (libvips' thumbnail rule) the block-wise DCT shrink never decides the final
 * detail on its own; with 1 (sharp's default) it may, and — as sharp does — a factor equal to the
 * whole shrink's integer part steps down once, since libjpeg's scaled sizes can round below it.
 * The shrink that matters is the smaller of the two axes' (the model input is filled, not fitted).
 */
export function jpegShrinkFactor(width: number, height: number, target: DecodeTarget | undefined): JpegScale {
  if (!target) return 1;
  const shrink = Math.min(width / target.width, height / target.height);
  const leave = target.leave ?? 2;
  let factor: JpegScale = 1;
  if (shrink >= 8 * leave) factor = 8;
  else if (shrink >= 4 * leave) factor = 4;
  else if (shrink >= 2 * leave) factor = 2;
  if (leave === 1 && factor > 1 && Math.floor(shrink) === factor) factor = (factor / 2) as JpegScale;
  return factor;
}
