/**
 * Held-out cross-entropy after temperature scaling: what the pick compares (choose.ts,
 * chooseByHeldLoss). A configuration's held-out cross-entropy mixes how well its scores separate
 * the classes (refinement) with how well its probabilities are scaled (calibration). Only the
 * first matters to the pick, which is exported for its argmax; the second differs by head kind
 * more than by how good the head is: a logistic fit on 80 images is sharp, a prototype head's
 * softmax over squared distances soft. On CIFAR-10 with MobileNetV2 features (about 30 % right)
 * the logistic heads' raw held-out cross-entropy was above that of a uniform guess while they were
 * the most accurate configuration on the test set in 11 of 12 runs. Scaling every configuration's
 * log-probabilities by the one factor that minimizes its own held-out cross-entropy over all its
 * splits (temperature scaling, Guo et al., "On Calibration of Modern Neural Networks", 2017)
 * removes the calibration term, so the cross-entropies compare separation. One factor per
 * configuration, fitted on 30–100 held-out images: its own optimism is small beside the
 * calibration gaps it removes.
 */

import { chooseByHeldLoss, type HeldScored, type LossEstimate } from './choose.ts';

/**
 * The largest factor fitted. A configuration that classifies every held-out image right has no
 * finite optimum (sharper is always better); capped, it is scored by its margins there.
 */
export const MAX_SCALE = 64;

/** Mean cross-entropy of images (image-major log-probabilities) after scaling them by `s`. */
export function scaledLossAt(logProbs: readonly number[], labels: readonly number[], s: number): number {
  return lossAt(logProbs, labels, s).loss;
}

/** That loss and its derivative in s. */
function lossAt(
  logProbs: readonly number[],
  labels: readonly number[],
  s: number,
): { loss: number; slope: number } {
  const classes = logProbs.length / labels.length;
  let loss = 0;
  let slope = 0;
  for (let i = 0; i < labels.length; i++) {
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, s * logProbs[i * classes + c]!);
    let z = 0;
    let expected = 0;
    for (let c = 0; c < classes; c++) {
      const w = Math.exp(s * logProbs[i * classes + c]! - max);
      z += w;
      expected += w * logProbs[i * classes + c]!;
    }
    const truth = logProbs[i * classes + labels[i]!]!;
    loss += max + Math.log(z) - s * truth;
    slope += expected / z - truth;
  }
  return { loss: loss / labels.length, slope: slope / labels.length };
}

/**
 * The factor in [0, MAX_SCALE] minimizing the mean cross-entropy of all the given images: the loss
 * is convex in s (its second derivative is the variance of the log-probabilities under the scaled
 * distribution), so bisection on the derivative finds it.
 */
export function fitScale(logProbs: readonly number[], labels: readonly number[]): number {
  if (labels.length === 0) return 1;
  if (lossAt(logProbs, labels, MAX_SCALE).slope <= 0) return MAX_SCALE;
  let lo = 0;
  let hi = MAX_SCALE;
  for (let it = 0; it < 60; it++) {
    const mid = (lo + hi) / 2;
    if (lossAt(logProbs, labels, mid).slope > 0) hi = mid;
    else lo = mid;
  }
  return (lo + hi) / 2;
}

/**
 * Per split, the mean cross-entropy of the held-out images with the configuration's log-probabilities
 * scaled by the one factor fitted on all its splits' held-out images together.
 * `labels[i]`: split i's held-out labels (the plan's; a configuration has a prefix of the splits).
 */
export function scaledHeldLoss(
  logProbs: readonly (readonly number[])[],
  labels: readonly (readonly number[])[],
): number[] {
  const s = fitScale(
    logProbs.flat(),
    logProbs.flatMap((_, i) => labels[i]!),
  );
  return logProbs.map((lp, i) => lossAt(lp, labels[i]!, s).loss);
}

/** A configuration's held-out scores as the pick reads them. */
export interface HeldScores {
  heldLoss: readonly number[];
  heldLogProbs?: readonly (readonly number[])[];
}

/**
 * The per-split held-out losses the pick compares, one array per configuration: temperature-scaled
 * (scaledHeldLoss) where `labels` are given and every configuration has its log-probabilities on
 * every split it was scored on, else the raw cross-entropies for all of them (a search replayed
 * from a recording made without the log-probabilities): scaled and raw losses are not comparable
 * with each other. `labels[i]`: split i's held-out labels, in the plan's order.
 */
export function lossesToCompare(
  configs: readonly HeldScores[],
  labels: readonly (readonly number[])[] | undefined,
): { scaled: boolean; losses: number[][] } {
  const scaled =
    labels !== undefined &&
    configs.every(
      (c) =>
        c.heldLogProbs !== undefined &&
        c.heldLogProbs.length === c.heldLoss.length &&
        c.heldLogProbs.every((lp, i) => lp.length > 0 && lp.length % labels[i]!.length === 0),
    );
  return {
    scaled,
    losses: configs.map((c) => (scaled ? scaledHeldLoss(c.heldLogProbs!, labels!) : [...c.heldLoss])),
  };
}

/** The pick (chooseByHeldLoss) on the losses lossesToCompare gives, and whether they were scaled. */
export function chooseByComparedLoss(
  configs: readonly (HeldScored & { heldLogProbs?: readonly (readonly number[])[] })[],
  labels: readonly (readonly number[])[] | undefined,
  minSplits: number,
): { winner: string; estimates: LossEstimate[]; scaled: boolean } | null {
  const compared = lossesToCompare(configs, labels);
  const pick = chooseByHeldLoss(
    configs.map((c, i) => ({ ...c, heldLoss: compared.losses[i]! })),
    minSplits,
  );
  return pick && { ...pick, scaled: compared.scaled };
}
