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
  const src = new Float32Array(size);
  for (let i = 0; i < n; i++) {
    const dy = Math.floor(rng() * (2 * max + 1)) - max;
    const dx = Math.floor(rng() * (2 * max + 1)) - max;
    if (dx === 0 && dy === 0) continue;
    const off = i * size;
    src.set(data.subarray(off, off + size));
    for (let y = 0; y < h; y++) {
      const sy = Math.min(h - 1, Math.max(0, y - dy));
      for (let x = 0; x < w; x++) {
        const sx = Math.min(w - 1, Math.max(0, x - dx));
        const from = (sy * w + sx) * c;
        const to = off + (y * w + x) * c;
        for (let k = 0; k < c; k++) data[to + k] = src[from + k]!;
      }
    }
  }
}
