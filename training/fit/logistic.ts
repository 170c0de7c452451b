/**
 * The logistic head on cached features: multinomial logistic regression with an L2 penalty on
 * standardized features, fitted full-batch from zero to (near) its optimum. The problem is convex,
 * so the fit has no seed, no dropout and no early stopping on a handful of validation images: on
 * 10 labels per class the SGD-trained linear head's test accuracy had a standard deviation of up to
 * 8.8 points between training seeds on the same images, and on the mnist backbone's earliest cut
 * point its mean fell 11–33 points below this fit (bench/select/linear-noise.ts, seeds 1–3). The
 * standardization is folded into the weights, so it exports as the ordinary dense softmax head.
 */
import * as tf from '@tensorflow/tfjs';
import type { DenseWeights } from './class-means.ts';
import { balancedClassWeights } from './loop.ts';

/** L2 penalty (λ/2)·‖W‖² on the mean weighted cross-entropy of standardized features. */
export const LOGISTIC_L2 = 0.01;
/** Full-batch Adam steps from zero: the penalty keeps the optimum near, and these reach it. */
export const LOGISTIC_STEPS = 300;
const LOGISTIC_LR = 0.05;

export interface LogisticOptions {
  l2?: number;
}

/** Per-dimension mean and scale of the rows; a dimension that barely varies keeps a floor scale. */
export function standardization(x: Float32Array, rows: readonly number[], dim: number) {
  const mean = new Float64Array(dim);
  const variance = new Float64Array(dim);
  for (const r of rows) for (let d = 0; d < dim; d++) mean[d]! += x[r * dim + d]!;
  for (let d = 0; d < dim; d++) mean[d]! /= rows.length;
  for (const r of rows) for (let d = 0; d < dim; d++) variance[d]! += (x[r * dim + d]! - mean[d]!) ** 2;
  let meanVariance = 0;
  for (let d = 0; d < dim; d++) {
    variance[d]! /= rows.length;
    meanVariance += variance[d]! / dim;
  }
  // A floor relative to the typical variance: a dimension active on one image would otherwise be
  // scaled up by orders of magnitude and dominate wherever it fires on a new image.
  const floor = Math.max(meanVariance * 1e-4, 1e-12);
  const scale = Float32Array.from(variance, (v) => Math.sqrt(v + floor));
  return { mean: Float32Array.from(mean), scale };
}

export function logisticWeights(
  x: Float32Array,
  y: Int32Array,
  rows: readonly number[],
  dim: number,
  classes: number,
  o: LogisticOptions = {},
): DenseWeights {
  const l2 = o.l2 ?? LOGISTIC_L2;
  const { mean, scale } = standardization(x, rows, dim);
  const xs = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => {
    for (let d = 0; d < dim; d++) xs[i * dim + d] = (x[r * dim + d]! - mean[d]!) / scale[d]!;
  });
  const labels = Int32Array.from(rows, (r) => y[r]!);
  const classWeights = balancedClassWeights(labels, classes);
  const sampleWeights = Float32Array.from(labels, (c) => classWeights[c]!);
  const X = tf.tensor2d(xs, [rows.length, dim]);
  const Y = tf.oneHot(tf.tensor1d(labels, 'int32'), classes);
  const sw = tf.tensor1d(sampleWeights);
  const swSum = sampleWeights.reduce((a, b) => a + b, 0);
  const W = tf.variable(tf.zeros([dim, classes]));
  const b = tf.variable(tf.zeros([classes]));
  const optimizer = tf.train.adam(LOGISTIC_LR);
  try {
    for (let i = 0; i < LOGISTIC_STEPS; i++) {
      tf.tidy(() => {
        optimizer.minimize(
          () => {
            const logp = tf.logSoftmax(tf.add(tf.matMul(X, W), b));
            const ce = tf.div(tf.sum(tf.mul(tf.neg(tf.sum(tf.mul(Y, logp), 1)), sw)), swSum);
            return tf.add(ce, tf.mul(tf.sum(tf.square(W)), l2 / 2)) as tf.Scalar;
          },
          false,
          [W, b],
        );
      });
    }
    const w = W.dataSync() as Float32Array;
    const bias0 = b.dataSync() as Float32Array;
    // logits = ((x − μ)/σ)·W + b = x·(W/σ) + (b − Σ_d μ_d W_d/σ_d)
    const kernel = new Float32Array(dim * classes);
    const bias = Float32Array.from(bias0);
    for (let d = 0; d < dim; d++) {
      for (let c = 0; c < classes; c++) {
        const k = w[d * classes + c]! / scale[d]!;
        kernel[d * classes + c] = k;
        bias[c]! -= mean[d]! * k;
      }
    }
    return { kernel, bias };
  } finally {
    tf.dispose([X, Y, sw, W, b]);
    optimizer.dispose();
  }
}
