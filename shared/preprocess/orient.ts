import type { Orientation } from './exif.ts';
import type { RawImage } from './types.ts';

/**
 * Turns stored pixels upright for display, as EXIF orientation asks (and as browsers, libvips'
 * autorotate and sharp's `.rotate()` do). For output pixel (x, y) of the upright image, the stored
 * pixel read is, with W × H the stored size:
 *   1 (x, y)   2 (W−1−x, y)   3 (W−1−x, H−1−y)   4 (x, H−1−y)
 *   5 (y, x)   6 (y, H−1−x)   7 (W−1−y, H−1−x)   8 (W−1−y, x)
 * Exact pixel moves, no resampling.
 */
export function applyOrientation(image: RawImage, orientation: Orientation): RawImage {
  if (orientation === 1) return image;
  const { width: w, height: h, channels: c, data } = image;
  const swap = orientation >= 5;
  const ow = swap ? h : w;
  const oh = swap ? w : h;
  const out = new Uint8Array(data.length);
  let o = 0;
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      let sx: number;
      let sy: number;
      switch (orientation) {
        case 2:
          sx = w - 1 - x;
          sy = y;
          break;
        case 3:
          sx = w - 1 - x;
          sy = h - 1 - y;
          break;
        case 4:
          sx = x;
          sy = h - 1 - y;
          break;
        case 5:
          sx = y;
          sy = x;
          break;
        case 6:
          sx = y;
          sy = h - 1 - x;
          break;
        case 7:
          sx = w - 1 - y;
          sy = h - 1 - x;
          break;
        default:
          sx = w - 1 - y;
          sy = x;
      }
      const s = (sy * w + sx) * c;
      for (let k = 0; k < c; k++) out[o++] = data[s + k]!;
    }
  }
  return { width: ow, height: oh, channels: c, data: out };
}
