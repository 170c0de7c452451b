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
 * finite optimum against the plain labels (sharper is always better); the pick fits its factor
 * against smoothed labels instead (pickScale).
 */
export const MAX_SCALE = 64;

/** Mean cross-entropy of images (image-major log-probabilities) after scaling them by `s`. */
export function scaledLossAt(logProbs: readonly number[], labels: readonly number[], s: number): number {
  return lossAt(logProbs, labels, s, 0).loss;
}

/**
 * That loss and its derivative in s, against targets that put `smoothing` of each image's mass
 * evenly on the classes other than its label (0: the plain cross-entropy).
 */
function lossAt(
  logProbs: readonly number[],
  labels: readonly number[],
  s: number,
  smoothing: number,
): { loss: number; slope: number } {
  const classes = logProbs.length / labels.length;
  const other = classes > 1 ? smoothing / (classes - 1) : 0;
  let loss = 0;
  let slope = 0;
  for (let i = 0; i < labels.length; i++) {
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, s * logProbs[i * classes + c]!);
    let z = 0;
    let expected = 0;
    let target = 0;
    for (let c = 0; c < classes; c++) {
      const lp = logProbs[i * classes + c]!;
      const w = Math.exp(s * lp - max);
      z += w;
      expected += w * lp;
      target += (c === labels[i] ? 1 - smoothing : other) * lp;
    }
    loss += max + Math.log(z) - s * target;
    slope += expected / z - target;
  }
  return { loss: loss / labels.length, slope: slope / labels.length };
}

/**
 * The factor in [0, MAX_SCALE] minimizing the mean cross-entropy of all the given images against
 * their labels, smoothed by `smoothing` (see scaledHeldLoss): the loss is convex in s (its second
 * derivative is the variance of the log-probabilities under the scaled distribution), so
 * bisection on the derivative finds it.
 */
export function fitScale(logProbs: readonly number[], labels: readonly number[], smoothing = 0): number {
  if (labels.length === 0) return 1;
  if (lossAt(logProbs, labels, MAX_SCALE, smoothing).slope <= 0) return MAX_SCALE;
  let lo = 0;
  let hi = MAX_SCALE;
  for (let it = 0; it < 60; it++) {
    const mid = (lo + hi) / 2;
    if (lossAt(logProbs, labels, mid, smoothing).slope > 0) hi = mid;
    else lo = mid;
  }
  return (lo + hi) / 2;
}

/**
 * The smoothing the pick fits the factor of a configuration that got all N of its held-out images
 * right with: 1/(N + 2), Laplace's rule of succession — N of N right makes an error rate of about
 * 1/(N + 2) likely, not 0. Fitted to the plain labels such a configuration has no finite optimum
 * (sharper is always better): its factor ran to MAX_SCALE and its scaled loss to nearly 0, so it
 * won the pick on the margins of its surest images however the others compared. On the 3-class
 * photo crops (30 labels, MobileNetV2) that was the pick in 11 of 12 recorded runs.
 */
export function successionSmoothing(images: number): number {
  return 1 / (images + 2);
}

/**
 * Per split, the mean cross-entropy of the held-out images with the configuration's log-probabilities
 * scaled by the one factor fitted on all its splits' held-out images together.
 * `labels[i]`: split i's held-out labels (the plan's; a configuration has a prefix of the splits).
 */
export function scaledHeldLoss(
  logProbs: readonly (readonly number[])[],
  labels: readonly (readonly number[])[],
  smoothed = true,
): number[] {
  const s = pickScale(logProbs, labels, smoothed);
  return logProbs.map((lp, i) => lossAt(lp, labels[i]!, s, 0).loss);
}

/**
 * The factor the pick scales a configuration's log-probabilities by, fitted on all its splits'
 * held-out images: the plain cross-entropy's optimum where it has one; where it has none (every
 * held-out image right: the factor would run to MAX_SCALE) the optimum against labels smoothed by
 * Laplace's rule of succession (successionSmoothing). `smoothed` false: the plain fit, capped
 * (the rule before; bench/select/pick-rules.ts replays it).
 */
export function pickScale(
  logProbs: readonly (readonly number[])[],
  labels: readonly (readonly number[])[],
  smoothed = true,
): number {
  const held = logProbs.flatMap((_, i) => labels[i]!);
  const plain = fitScale(logProbs.flat(), held);
  return smoothed && plain >= MAX_SCALE
    ? fitScale(logProbs.flat(), held, successionSmoothing(held.length))
    : plain;
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
  smoothed = true,
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
    losses: configs.map((c) =>
      scaled ? scaledHeldLoss(c.heldLogProbs!, labels!, smoothed) : [...c.heldLoss],
    ),
  };
}

/** The pick (chooseByHeldLoss) on the losses lossesToCompare gives, and whether they were scaled. */
export function chooseByComparedLoss(
  configs: readonly (HeldScored & { heldLogProbs?: readonly (readonly number[])[] })[],
  labels: readonly (readonly number[])[] | undefined,
  minSplits: number,
  smoothed = true,
): { winner: string; estimates: LossEstimate[]; scaled: boolean } | null {
  const compared = lossesToCompare(configs, labels, smoothed);
  const pick = chooseByHeldLoss(
    configs.map((c, i) => ({ ...c, heldLoss: compared.losses[i]! })),
    minSplits,
  );
  return pick && { ...pick, scaled: compared.scaled };
}
