/**
 * The safe half of racing. `clearlyWorse` (choose.ts) stops a configuration that is probably
 * worse than the leader; this stops one that cannot win whatever it scores next: on the splits it
 * is to be scored on, even a perfect score on every remaining one leaves its total below the
 * leader's on the same splits, so its paired estimate stays below the leader's and stopping it
 * cannot change the pick made on those splits. (Heads still in contention are scored on more
 * splits afterwards, which moves their estimates; the leader's may fall then, as with any racing:
 * the bound is exact for the splits the stopped configuration would have been scored on, the
 * ones where the two are compared.) A tie is not stopped: the pick compares estimates
 * computed in floating point, where an exact tie can come out either way (the exhaustive test in
 * tests/node/select/race.test.ts found one on thirds).
 */

/** The most a configuration can score on one split (all held-out images right). */
const PERFECT = 1;
/** Sums of per-split accuracies that differ by less than this are a tie (rounding). */
const ROUNDING = 1e-9;

/**
 * True when `candidate`, scored on the first `candidate.length` of `horizon` splits, stays below
 * `leader` on those `horizon` splits even scoring 100% on each remaining one. False
 * when the leader has fewer than `horizon` splits (nothing to bound against) or the candidate
 * already has them all.
 */
export function cannotOvertake(
  candidate: readonly number[],
  leader: readonly number[],
  horizon: number,
): boolean {
  if (leader.length < horizon || candidate.length >= horizon) return false;
  let gap = 0;
  for (let i = 0; i < horizon; i++) gap += (i < candidate.length ? candidate[i]! : PERFECT) - leader[i]!;
  return gap < -ROUNDING;
}
