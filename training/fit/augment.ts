/**
 * Shift augmentation for the from-scratch baseline: every image of a batch moves by a random
 * integer offset in [-max, max] on each axis (seeded), edges replicated. Digits and photos both
 * keep their class under small shifts; a baseline without it would be a strawman.
 */
import type { Rng } from '../../shared/random.ts';

/** Shifts NHWC images in place. */
export function shiftBatch(
  data: Float32Array,
  n: number,
  h: number,
  w: number,
  c: number,
  max: number,
  rng: Rng,
): void {
  const size = h * w * c;
  const row = w * c;
  const src = new Float32Array(size);
  for (let i = 0; i < n; i++) {
    const dy = Math.floor(rng() * (2 * max + 1)) - max;
    const dx = Math.floor(rng() * (2 * max + 1)) - max;
    if (dx === 0 && dy === 0) continue;
    const off = i * size;
    src.set(data.subarray(off, off + size));
    // Output column x reads column x − dx: one contiguous run of the source row for the columns
    // where that lies inside the image, then its first or last pixel repeated over the rest.
    const x0 = Math.min(w, Math.max(0, dx));
    const x1 = Math.max(x0, Math.min(w, w + dx));
    for (let y = 0; y < h; y++) {
      const from = Math.min(h - 1, Math.max(0, y - dy)) * row;
      const to = off + y * row;
      if (x1 > x0) data.set(src.subarray(from + (x0 - dx) * c, from + (x1 - dx) * c), to + x0 * c);
      for (let x = 0; x < x0; x++) for (let k = 0; k < c; k++) data[to + x * c + k] = src[from + k]!;
      const last = from + (w - 1) * c;
      for (let x = x1; x < w; x++) for (let k = 0; k < c; k++) data[to + x * c + k] = src[last + k]!;
    }
  }
}
