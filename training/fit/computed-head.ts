/**
 * Heads whose weights are computed from the frozen features rather than trained by SGD: the class
 * means (prototype) and the logistic fit. Both export as the ordinary dense softmax layer.
 */
import { classMeanWeights, type DenseWeights } from './class-means.ts';
import { logisticWeights } from './logistic.ts';

export type ComputedHeadKind = 'prototype' | 'logistic';

/** `kind`'s weights fitted on `rows` of the features `x` ([n, dim]). */
export function computedHeadWeights(
  kind: ComputedHeadKind,
  x: Float32Array,
  y: Int32Array,
  rows: readonly number[],
  dim: number,
  classes: number,
): DenseWeights {
  return (kind === 'prototype' ? classMeanWeights : logisticWeights)(x, y, rows, dim, classes);
}
