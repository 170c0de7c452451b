/**
 * Held-out figures for a computed head fitted on every labelled image. A prototype or logistic
 * head (a search's pick, `--head logistic`) is exported fitted on all of them — it has nothing to
 * stop early, so the validation split would only be images it never learns from — which leaves no
 * image held out when there is no test set. Its held-out figures then come from cross-validation: stratified
 * folds, every image predicted by the same head fitted on the other folds.
 */
import { softmax } from '../../shared/prototype/head.ts';
import type { DenseWeights } from '../fit/class-means.ts';
import { type ComputedHeadKind, computedHeadWeights } from '../fit/computed-head.ts';
import { foldCount, stratifiedFolds } from './folds.ts';

/** Softmax probabilities of a dense head on `rows` of x ([n, dim]), row-major [rows, classes]. */
export function denseProbs(
  w: DenseWeights,
  x: Float32Array,
  rows: readonly number[],
  dim: number,
): Float32Array {
  const classes = w.bias.length;
  const out = new Float32Array(rows.length * classes);
  const z = new Float64Array(classes);
  rows.forEach((r, i) => {
    for (let c = 0; c < classes; c++) {
      let s = w.bias[c]!;
      for (let d = 0; d < dim; d++) s += x[r * dim + d]! * w.kernel[d * classes + c]!;
      z[c] = s;
    }
    out.set(softmax(z), i * classes);
  });
  return out;
}

/**
 * Out-of-fold probabilities of `kind` for every row of x (k = min(maxFolds, smallest class)
 * stratified folds from `seed`), in row order, and the k used.
 */
export function outOfFoldProbs(
  kind: ComputedHeadKind,
  x: Float32Array,
  y: Int32Array,
  dim: number,
  classes: number,
  seed: number,
  maxFolds: number,
): { probs: Float32Array; k: number } {
  const k = foldCount(y, classes, maxFolds);
  const probs = new Float32Array(y.length * classes);
  for (const held of stratifiedFolds(y, k, seed)) {
    const heldSet = new Set(held);
    const rest = Array.from(y.keys()).filter((i) => !heldSet.has(i));
    const p = denseProbs(computedHeadWeights(kind, x, y, rest, dim, classes), x, held, dim);
    held.forEach((r, i) => {
      probs.set(p.subarray(i * classes, (i + 1) * classes), r * classes);
    });
  }
  return { probs, k };
}
