/**
 * Heads whose weights are computed from the frozen features rather than trained by SGD: the class
 * means (prototype) and the logistic fit. Both export as the ordinary dense softmax layer.
 */
import type * as tf from '@tensorflow/tfjs';
import { classMeanWeights, type DenseWeights, setDenseHead } from './class-means.ts';
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

/** Computes `kind`'s weights on `rows` of the features `x` ([n, dim]) and puts them into `layer`. */
export function fitComputedHead(
  layer: tf.layers.Layer,
  kind: ComputedHeadKind,
  x: Float32Array,
  y: Int32Array,
  rows: readonly number[],
  dim: number,
  classes: number,
): void {
  setDenseHead(layer, computedHeadWeights(kind, x, y, rows, dim, classes));
}
