/**
 * The scratch CNN's shift augmentation copies row runs; it must move every pixel exactly where the
 * per-pixel definition does (edges replicated), and draw the same numbers, so a seeded baseline
 * trains on the same batches.
 */
import { describe, expect, it } from 'vitest';
import { shiftBatch } from '../../../training/fit/augment.ts';
import { createRng, type Rng } from '../../../shared/random.ts';

/** The definition: output (y, x) is input (clamp(y − dy), clamp(x − dx)), per image. */
function reference(data: Float32Array, n: number, h: number, w: number, c: number, max: number, rng: Rng) {
  const out = data.slice();
  const size = h * w * c;
  for (let i = 0; i < n; i++) {
    const dy = Math.floor(rng() * (2 * max + 1)) - max;
    const dx = Math.floor(rng() * (2 * max + 1)) - max;
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let k = 0; k < c; k++) {
          const sy = Math.min(h - 1, Math.max(0, y - dy));
          const sx = Math.min(w - 1, Math.max(0, x - dx));
          out[i * size + (y * w + x) * c + k] = data[i * size + (sy * w + sx) * c + k]!;
        }
  }
  return out;
}

describe('shiftBatch', () => {
  it('equals the per-pixel definition, shifts past the image’s edge included', () => {
    const cases = [
      { h: 20, w: 20, c: 3, max: 2 },
      { h: 64, w: 64, c: 3, max: 5 },
      { h: 7, w: 5, c: 1, max: 6 },
      { h: 3, w: 9, c: 2, max: 12 },
    ];
    for (const { h, w, c, max } of cases) {
      const n = 40;
      const data = Float32Array.from({ length: n * h * w * c }, (_, i) => i * 0.5 - 7);
      const want = reference(data, n, h, w, c, max, createRng(11));
      const got = data.slice();
      const rng = createRng(11);
      shiftBatch(got, n, h, w, c, max, rng);
      expect({ h, w, c, max, same: got.every((v, i) => Object.is(v, want[i])) }).toEqual({
        h,
        w,
        c,
        max,
        same: true,
      });
      // The same draws: the next number is the one after 2 per image.
      const expected = createRng(11);
      for (let i = 0; i < 2 * n; i++) expected();
      expect(rng()).toBe(expected());
    }
  });
});
