/**
 * The pick, by paired comparison on the search's splits. With 10 labels per class a held-out fold
 * holds one or two images per class, so a configuration's mean over folds moves by several
 * points with the luck of the draw; but every configuration is scored on the same splits, and
 * that luck is shared: an easy fold is easy for all of them. Comparing configurations split by
 * split (the mean and standard error of their per-split differences) separates them far better
 * than comparing their means (Nadeau & Bengio, "Inference for the generalization error", 2003;
 * Dietterich, 1998).
 *
 * Cheap configurations are scored on every split; expensive ones (re-trained backbone layers,
 * the scratch CNN) on a prefix of them. A configuration's estimate is the reference's mean over
 * all splits plus its mean paired difference to the reference on the splits it has: the
 * difference is measured where both were scored, and the reference fills in the rest.
 *
 * The rule: the best estimate wins, unless a simpler configuration is within one standard error
 * of it in their paired difference (the one-standard-error rule of Hastie, Tibshirani & Friedman,
 * The Elements of Statistical Learning, §7.10, applied to the paired difference).
 */
export interface Scored {
  id: string;
  /** Lower is simpler. */
  complexity: number;
  /** Accuracy on each split scored, in the plan's order (the first folds.length splits). */
  folds: number[];
}

export function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Sample standard deviation (n − 1); 0 for fewer than two values. */
export function sd(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

/** Mean and standard error of a − b over the splits both were scored on. */
export function pairedDifference(
  a: readonly number[],
  b: readonly number[],
): { mean: number; se: number; n: number } {
  const n = Math.min(a.length, b.length);
  const d = Array.from({ length: n }, (_, i) => a[i]! - b[i]!);
  return { mean: n === 0 ? 0 : mean(d), se: n === 0 ? 0 : sd(d) / Math.sqrt(n), n };
}

export interface Estimate {
  id: string;
  /** Paired estimate of the configuration's mean accuracy over all splits. */
  estimate: number;
  /** Its paired difference to the best estimate (≤ 0) and that difference's standard error. */
  vsBest: number;
  vsBestSe: number;
}

export interface Choice {
  winner: string;
  best: string;
  /** The configuration scored on the most splits, whose mean fills in the others' estimates. */
  reference: string;
  estimates: Estimate[];
}

/**
 * `minSplits`: a configuration scored on fewer splits does not compete (one split says nothing
 * about spread). Null when none qualifies.
 */
export function choosePaired(scored: readonly Scored[], minSplits: number): Choice | null {
  const full = scored.filter((s) => s.folds.length >= minSplits && s.folds.length > 0);
  if (full.length === 0) return null;
  const reference = full.reduce((a, b) =>
    b.folds.length > a.folds.length || (b.folds.length === a.folds.length && mean(b.folds) > mean(a.folds))
      ? b
      : a,
  );
  const refMean = mean(reference.folds);
  const estimateOf = (s: Scored) => refMean + pairedDifference(s.folds, reference.folds).mean;
  const best = full.reduce((a, b) => (estimateOf(b) > estimateOf(a) ? b : a));
  const estimates = full.map((s) => {
    const d = pairedDifference(s.folds, best.folds);
    return { id: s.id, estimate: estimateOf(s), vsBest: d.mean, vsBestSe: d.se };
  });
  const eligible = full.filter((s, i) => {
    const e = estimates[i]!;
    return s === best || e.vsBest >= -e.vsBestSe - 1e-12;
  });
  const est = new Map(estimates.map((e) => [e.id, e.estimate]));
  const winner = eligible.reduce((a, b) =>
    b.complexity < a.complexity || (b.complexity === a.complexity && est.get(b.id)! > est.get(a.id)!) ? b : a,
  );
  return { winner: winner.id, best: best.id, reference: reference.id, estimates };
}

/**
 * Racing: an expensive configuration is stopped once it is clearly worse than the leader on the
 * splits both have — its mean paired difference more than two standard errors below zero after
 * at least `minSplits` splits — so the budget goes to configurations that can still win.
 */
export function clearlyWorse(
  candidate: readonly number[],
  leader: readonly number[],
  minSplits: number,
): boolean {
  const d = pairedDifference(candidate, leader);
  return d.n >= minSplits && d.mean + 2 * d.se < 0;
}
