/**
 * The one-standard-error rule: among configurations whose mean CV accuracy is within one standard
 * error of the best mean, take the simplest. With 10 labels per class a fold holds 2 images per
 * class, so CV means differ by noise more often than not; preferring the simpler model when the
 * evidence does not separate them is what keeps the pick stable (Hastie, Tibshirani & Friedman,
 * The Elements of Statistical Learning, §7.10).
 */
export interface Scored {
  id: string;
  /** Lower is simpler. */
  complexity: number;
  /** Accuracy on each held-out fold. */
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

export interface Choice {
  winner: string;
  best: string;
  /** best mean − its standard error: every configuration at or above it was eligible. */
  threshold: number;
}

/** Only configurations scored on every fold compete (a partial score is not comparable). */
export function chooseOneStandardError(scored: readonly Scored[], k: number): Choice | null {
  const full = scored.filter((s) => s.folds.length === k);
  if (full.length === 0) return null;
  const best = full.reduce((a, b) => (mean(b.folds) > mean(a.folds) ? b : a));
  const threshold = mean(best.folds) - sd(best.folds) / Math.sqrt(k);
  const eligible = full.filter((s) => mean(s.folds) >= threshold - 1e-12);
  const winner = eligible.reduce((a, b) =>
    b.complexity < a.complexity || (b.complexity === a.complexity && mean(b.folds) > mean(a.folds)) ? b : a,
  );
  return { winner: winner.id, best: best.id, threshold };
}
