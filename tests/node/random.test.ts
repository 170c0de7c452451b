/**
 * The seeded generator is what makes splits, shuffles, initial weights and dropout masks
 * reproducible from `--seed`, and recorded searches replay only if its sequence never changes:
 * it must draw exactly textbook mulberry32's numbers, whatever way it keeps its state.
 */
import { describe, expect, it } from 'vitest';
import { createRng } from '../../shared/random.ts';

/** mulberry32 as published, state kept as a uint32. */
function reference(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('createRng', () => {
  it('draws textbook mulberry32, seeds above 2^31, negative and fractional ones included', () => {
    const mismatches: { seed: number; draw: number; got: number; want: number }[] = [];
    for (const seed of [0, 1, 3, 42, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32 + 7, -5, 1.5, 123456789]) {
      const got = createRng(seed);
      const want = reference(seed);
      for (let draw = 0; draw < 200_000; draw++) {
        const g = got();
        const w = want();
        if (g !== w) mismatches.push({ seed, draw, got: g, want: w });
      }
    }
    expect(mismatches.slice(0, 3)).toEqual([]);
  });

  it('keeps the sequence recorded searches were drawn from', () => {
    const rng = createRng(1);
    expect([rng(), rng(), rng()]).toEqual([0.6270739405881613, 0.002735721180215478, 0.5274470399599522]);
  });
});
