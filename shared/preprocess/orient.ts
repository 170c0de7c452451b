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
  // The table above is affine in (x, y) (see AFFINE), so the source offset moves by a constant
  // step per output pixel and per output row: one tight loop serves every orientation, with no
  // per-pixel switch (bench/photo-profile.ts times it on a 12 MP photo tagged orientation 6).
  const [ax, ay, a0, bx, by, b0] = AFFINE[orientation];
  const stepX = (bx * w + ax) * c;
  const stepY = (by * w + ay) * c;
  const out = new Uint8Array(data.length);
  const start = (b0 * (h - 1) * w + a0 * (w - 1)) * c;
  // Quarter turns read the source down its columns: in tiles of TILE × TILE output pixels the
  // source rows a tile touches stay in cache.
  const tile = swap ? TILE : ow;
  for (let ty = 0; ty < oh; ty += tile) {
    const yEnd = Math.min(ty + tile, oh);
    for (let tx = 0; tx < ow; tx += tile) {
      const xEnd = Math.min(tx + tile, ow);
      for (let y = ty; y < yEnd; y++) {
        let s = start + y * stepY + tx * stepX;
        let o = (y * ow + tx) * c;
        if (c === 3) {
          for (let x = tx; x < xEnd; x++, s += stepX, o += 3) {
            out[o] = data[s]!;
            out[o + 1] = data[s + 1]!;
            out[o + 2] = data[s + 2]!;
          }
        } else {
          for (let x = tx; x < xEnd; x++, s += stepX) for (let k = 0; k < c; k++) out[o++] = data[s + k]!;
        }
      }
    }
  }
  return { width: ow, height: oh, channels: c, data: out };
}

const TILE = 64;

/**
 * Per orientation 2..8: [ax, ay, a0, bx, by, b0] with sx = ax·x + ay·y + a0·(W−1) and
 * sy = bx·x + by·y + b0·(H−1), read off the table in applyOrientation's comment.
 */
const AFFINE: Record<Exclude<Orientation, 1>, readonly [number, number, number, number, number, number]> = {
  2: [-1, 0, 1, 0, 1, 0],
  3: [-1, 0, 1, 0, -1, 1],
  4: [1, 0, 0, 0, -1, 1],
  5: [0, 1, 0, 1, 0, 0],
  6: [0, 1, 0, -1, 0, 1],
  7: [0, -1, 1, -1, 0, 1],
  8: [0, -1, 1, 1, 0, 0],
};
