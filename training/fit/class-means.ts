/**
 * The prototype head on cached features: nearest class mean. It is a linear layer in disguise —
 * −‖x − μc‖² = 2μc·x − ‖μc‖² − ‖x‖², and the last term is the same for every class — so it
 * exports as the ordinary dense softmax head with kernel 2μc/T and bias −‖μc‖²/T, no training.
 * T (the mean squared distance of a training image to its class mean) only sets how peaked the
 * probabilities are; the predicted class is the nearest mean whatever T is.
 */
import * as tf from '@tensorflow/tfjs';

export interface DenseWeights {
  /** [dim, classes], row-major (what a tfjs Dense kernel holds). */
  kernel: Float32Array;
  bias: Float32Array;
}

export function classMeanWeights(
  x: Float32Array,
  y: Int32Array,
  rows: readonly number[],
  dim: number,
  classes: number,
): DenseWeights {
  const means = new Float64Array(classes * dim);
  const counts = new Float64Array(classes);
  for (const r of rows) {
    const c = y[r]!;
    counts[c]!++;
    for (let d = 0; d < dim; d++) means[c * dim + d]! += x[r * dim + d]!;
  }
  for (let c = 0; c < classes; c++) {
    if (counts[c]! > 0) for (let d = 0; d < dim; d++) means[c * dim + d]! /= counts[c]!;
  }
  let spread = 0;
  for (const r of rows) {
    const c = y[r]!;
    for (let d = 0; d < dim; d++) spread += (x[r * dim + d]! - means[c * dim + d]!) ** 2;
  }
  const t = Math.max(spread / Math.max(rows.length, 1), 1e-6);
  const kernel = new Float32Array(dim * classes);
  const bias = new Float32Array(classes);
  for (let c = 0; c < classes; c++) {
    let norm = 0;
    for (let d = 0; d < dim; d++) {
      const m = means[c * dim + d]!;
      kernel[d * classes + c] = (2 * m) / t;
      norm += m * m;
    }
    // A class without training rows can never be the nearest mean.
    bias[c] = counts[c]! > 0 ? -norm / t : -1e9;
  }
  return { kernel, bias };
}

/** Puts computed weights into a Dense softmax layer (kernel [dim, classes], bias [classes]). */
export function setDenseHead(layer: tf.layers.Layer, w: DenseWeights): void {
  const classes = w.bias.length;
  const kernel = tf.tensor2d(w.kernel, [w.kernel.length / classes, classes]);
  const bias = tf.tensor1d(w.bias);
  layer.setWeights([kernel, bias]);
  tf.dispose([kernel, bias]);
}

/** Puts the class means into a Dense softmax layer. */
export function setClassMeanHead(
  layer: tf.layers.Layer,
  x: Float32Array,
  y: Int32Array,
  rows: readonly number[],
  dim: number,
  classes: number,
): void {
  setDenseHead(layer, classMeanWeights(x, y, rows, dim, classes));
}
