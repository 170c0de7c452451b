/**
 * The export fit's check: Fisher's one-sided test of the fit's validation count against the
 * configuration's CV count, and the refit with another seed where it fires.
 */
import { describe, expect, it } from 'vitest';
import {
  checkExportFit,
  EXPORT_CHECK_ALPHA,
  fisherLowerTail,
  REFIT_SEED_OFFSET,
} from '../../../training/select/export-check.ts';

const choose = (n: number, k: number): number => (k === 0 ? 1 : (choose(n - 1, k - 1) * n) / k);

describe('Fisher’s one-sided test', () => {
  it('is the hypergeometric lower tail', () => {
    // 4 of 10 against 21 of 25: 35 images, 25 right; P(at most 4 of the 10 drawn are right).
    const direct = [0, 1, 2, 3, 4].reduce(
      (a, x) => a + (choose(25, x) * choose(10, 10 - x)) / choose(35, 10),
      0,
    );
    expect(fisherLowerTail({ correct: 4, images: 10 }, { correct: 21, images: 25 })).toBeCloseTo(direct, 12);
    expect(direct).toBeCloseTo(0.01605, 5);
    // Every image right on both sides, or the fit's own rate above the CV one: no evidence at all.
    expect(fisherLowerTail({ correct: 10, images: 10 }, { correct: 25, images: 25 })).toBeCloseTo(1, 12);
    expect(fisherLowerTail({ correct: 9, images: 10 }, { correct: 21, images: 25 })).toBeGreaterThan(0.8);
  });

  it('fires on the negative-transfer seed-5 export fit and not on the others’', () => {
    // The scratch CNN's CV: 21 of 25 held-out images (seed 5); its export fits got 4 of 10
    // validation images right on seed 5, 9 or 10 of 10 on seeds 1–4 and 6.
    expect(fisherLowerTail({ correct: 4, images: 10 }, { correct: 21, images: 25 })).toBeLessThan(
      EXPORT_CHECK_ALPHA,
    );
    expect(fisherLowerTail({ correct: 9, images: 10 }, { correct: 21, images: 25 })).toBeGreaterThan(
      EXPORT_CHECK_ALPHA,
    );
    // One image fewer than seed 5's CV rate would predict on 10 is not enough: 5 of 10.
    expect(fisherLowerTail({ correct: 5, images: 10 }, { correct: 21, images: 25 })).toBeGreaterThan(
      EXPORT_CHECK_ALPHA,
    );
  });
});

describe('the export fit’s check', () => {
  const cv = { correct: 21, images: 25 };

  it('keeps a sound fit without refitting it', async () => {
    const seeds: number[] = [];
    const check = await checkExportFit(
      async (s) => {
        seeds.push(s);
        return 9;
      },
      5,
      10,
      cv,
    );
    expect(seeds).toEqual([5]);
    expect(check.refit).toBeUndefined();
    expect(check.fitSeed).toBe(5);
  });

  it('refits a failed fit with another seed and exports the fit with more validation images right', async () => {
    const right = new Map([
      [5, 4],
      [5 + REFIT_SEED_OFFSET, 9],
    ]);
    const seeds: number[] = [];
    const check = await checkExportFit(
      async (s) => {
        seeds.push(s);
        return right.get(s)!;
      },
      5,
      10,
      cv,
    );
    expect(seeds).toEqual([5, 5 + REFIT_SEED_OFFSET]);
    expect(check.val).toEqual({ correct: 4, images: 10 });
    expect(check.refit).toEqual({ seed: 5 + REFIT_SEED_OFFSET, val: { correct: 9, images: 10 } });
    expect(check.fitSeed).toBe(5 + REFIT_SEED_OFFSET);
    // Where the refit does no better (the validation images are hard, not the fit failed), the
    // first fit stays.
    const same = await checkExportFit(async () => 4, 5, 10, cv);
    expect(same.refit?.val.correct).toBe(4);
    expect(same.fitSeed).toBe(5);
  });
});
