/**
 * How probable it is that each configuration is the best one, given the splits it was scored on:
 * the Bayesian bootstrap (Rubin, "The Bayesian bootstrap", 1981) over the plan's splits. Each
 * draw weighs the splits by Dirichlet(1, …, 1) weights and recomputes every configuration's paired
 * estimate under them; a configuration's probability is the share of draws it leads.
 *
 * Why not just the best paired estimate: an estimate from 2 splits and one from 10 count the same
 * there, and with one image per class in a held-out fold the leader is often a configuration that
 * was lucky on a few splits. The probability of leading accounts for how far each estimate can
 * move with the splits it rests on; between two configurations scored on all splits it rarely
 * disagrees with the estimates.
 */
import { createRng } from '../../shared/random.ts';

export interface Scores {
  id: string;
  /** Accuracy on each split scored, a prefix of the reference's splits. */
  folds: readonly number[];
}

/** Draws of the bootstrap: enough that a probability is known to about ±1 point. */
export const DRAWS = 4000;

/**
 * `reference` holds the most splits; every other configuration's estimate in a draw is the
 * reference's weighted mean plus its weighted mean paired difference on the splits it has (the
 * paired estimate of choose.ts with weights). Ties in a draw share its credit. Deterministic:
 * the draws come from a fixed seed, so a replay on recorded splits gives the same pick.
 */
export function probabilityBest(
  scored: readonly Scores[],
  reference: Scores,
  draws = DRAWS,
  seed = 1,
): Map<string, number> {
  const rng = createRng(seed);
  const n = reference.folds.length;
  const wins = new Map(scored.map((s) => [s.id, 0]));
  const w = new Float64Array(n);
  const values = new Float64Array(scored.length);
  for (let d = 0; d < draws; d++) {
    // Exp(1) weights, normalised within each prefix below: a Dirichlet(1, …, 1) draw.
    for (let i = 0; i < n; i++) w[i] = -Math.log(1 - rng());
    let total = 0;
    let refSum = 0;
    for (let i = 0; i < n; i++) {
      total += w[i]!;
      refSum += w[i]! * reference.folds[i]!;
    }
    const refMean = refSum / total;
    let top = Number.NEGATIVE_INFINITY;
    scored.forEach((s, j) => {
      let wd = 0;
      let ws = 0;
      for (let i = 0; i < s.folds.length && i < n; i++) {
        wd += w[i]! * (s.folds[i]! - reference.folds[i]!);
        ws += w[i]!;
      }
      values[j] = refMean + (ws === 0 ? 0 : wd / ws);
      top = Math.max(top, values[j]!);
    });
    const leaders = scored.filter((_, j) => values[j]! >= top - 1e-12);
    for (const s of leaders) wins.set(s.id, wins.get(s.id)! + 1 / leaders.length);
  }
  for (const [id, v] of wins) wins.set(id, v / draws);
  return wins;
}
