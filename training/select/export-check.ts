/**
 * The export fit's check. The pick is exported from ONE fit on the run's training split, and a fit
 * on 40–100 images can fail where the same configuration's CV fits did not: on the
 * negative-transfer task (seed 5) the scratch CNN's export fit got 4 of its 10 validation images
 * right, and 58.3 % of the test set, where its 5 CV fits had 21 of 25 held-out images right. No
 * rule on CV scores sees that; the fit's own validation split (labelled images it never trained
 * on) does.
 *
 * The test: is the fit's validation accuracy lower than the configuration's accuracy on the
 * held-out images of its CV splits? Fisher's exact test, one-sided (the conditional test of two
 * equal rates: it allows for the CV count's own noise, where a binomial bound at the CV mean would
 * not), at ALPHA. Where it fires, the configuration is fitted again with another seed and the fit
 * with more validation images right is exported. A false alarm therefore costs a second fit, not
 * accuracy: the refit is the same configuration, as good in expectation, so the test can afford
 * to be sensitive. Early stopping chose the fit's epoch on that validation split, which only makes
 * its accuracy look better: the test errs toward not firing.
 *
 * A prototype head has nothing random to fit (the class means), so it is not checked.
 */

/** One-sided level of the test: a sound fit is refitted in at most 1 run in 20. */
export const EXPORT_CHECK_ALPHA = 0.05;
/** The refit's seed: the run's seed plus this (any other seed would do; a fixed one replays). */
export const REFIT_SEED_OFFSET = 7919;

export interface Count {
  correct: number;
  images: number;
}

const logFactorials: number[] = [0];
function logFactorial(n: number): number {
  for (let i = logFactorials.length; i <= n; i++) logFactorials.push(logFactorials[i - 1]! + Math.log(i));
  return logFactorials[n]!;
}
const logChoose = (n: number, k: number) => logFactorial(n) - logFactorial(k) - logFactorial(n - k);

/**
 * Fisher's exact test, one-sided: the probability, given both counts' total of correct images,
 * that `a` has as few correct as it has or fewer if both come from one rate (hypergeometric).
 */
export function fisherLowerTail(a: Count, b: Count): number {
  const total = a.images + b.images;
  const correct = a.correct + b.correct;
  const denominator = logChoose(total, a.images);
  let p = 0;
  for (let x = Math.max(0, a.images - (total - correct)); x <= a.correct; x++) {
    p += Math.exp(logChoose(correct, x) + logChoose(total - correct, a.images - x) - denominator);
  }
  return Math.min(1, p);
}

export interface FitCheck {
  /** The seed of the fit tried first (the run's). */
  seed: number;
  val: Count;
  /** The configuration's held-out images over its CV splits. */
  cv: Count;
  /** Fisher's one-sided p-value of the fit's validation count against the CV count. */
  pValue: number;
  /** Present when the test fired: the second fit's seed and validation count. */
  refit?: { seed: number; val: Count };
  /** The seed the export trains with: the refit's when it got more validation images right. */
  fitSeed: number;
}

/**
 * `fitVal(seed)`: the configuration trained on the run's training split with that seed, the number
 * of validation images it gets right. Called once, or twice when the first fit fails the test.
 */
export async function checkExportFit(
  fitVal: (seed: number) => Promise<number>,
  seed: number,
  valImages: number,
  cv: Count,
  alpha = EXPORT_CHECK_ALPHA,
): Promise<FitCheck> {
  const val = { correct: await fitVal(seed), images: valImages };
  const pValue = fisherLowerTail(val, cv);
  if (pValue >= alpha) return { seed, val, cv, pValue, fitSeed: seed };
  const refitSeed = seed + REFIT_SEED_OFFSET;
  const refit = { seed: refitSeed, val: { correct: await fitVal(refitSeed), images: valImages } };
  return {
    seed,
    val,
    cv,
    pValue,
    refit,
    fitSeed: refit.val.correct > val.correct ? refitSeed : seed,
  };
}
