/**
 * The logistic head (training/fit/logistic.ts): the weights it returns are the optimum of its
 * objective (the gradient, computed here independently in float64, vanishes), the same on every
 * call, and exported through a Dense softmax layer they give the standardized model's probabilities.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { setDenseHead } from '../../../training/fit/class-means.ts';
import { LOGISTIC_L2, logisticWeights, standardization } from '../../../training/fit/logistic.ts';
import { balancedClassWeights } from '../../../training/fit/loop.ts';
import { createRng } from '../../../shared/random.ts';
import { initTf } from '../../../training/tf/backend.ts';

const dim = 12;
const classes = 3;

/** Overlapping blobs, one dimension 1,000× larger than the rest, one constant, classes unbalanced. */
function data(n: number, seed: number) {
  const rng = createRng(seed);
  const y = Int32Array.from({ length: n }, (_, i) => (i % 5 === 4 ? 2 : i % 2));
  const x = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    for (let d = 0; d < dim; d++) {
      const signal = d % classes === y[i] ? 0.8 : 0;
      x[i * dim + d] = (signal + rng() * 1.5) * (d === 0 ? 1000 : 1);
    }
    x[i * dim + dim - 1] = 3;
  }
  return { x, y };
}

/**
 * The standardized model behind exported (folded) weights: its weights, bias and probabilities,
 * in float64.
 */
function standardizedModel(x: Float32Array, rows: number[], kernel: Float32Array, bias: Float32Array) {
  const { mean, scale } = standardization(x, rows, dim);
  const w = Float64Array.from(kernel, (k, j) => k * scale[Math.floor(j / classes)]!);
  const b = Float64Array.from(bias);
  for (let d = 0; d < dim; d++)
    for (let c = 0; c < classes; c++) b[c]! += mean[d]! * kernel[d * classes + c]!;
  const feature = (r: number, d: number) => (x[r * dim + d]! - mean[d]!) / scale[d]!;
  const probs = (r: number) => {
    const z = Array.from({ length: classes }, (_, c) => {
      let s = b[c]!;
      for (let d = 0; d < dim; d++) s += feature(r, d) * w[d * classes + c]!;
      return s;
    });
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const sum = e.reduce((a, v) => a + v, 0);
    return e.map((v) => v / sum);
  };
  return { w, feature, probs };
}

/** Gradient of mean weighted cross-entropy + (λ/2)‖W‖² in standardized space, in float64. */
function gradient(x: Float32Array, y: Int32Array, rows: number[], kernel: Float32Array, bias: Float32Array) {
  const { w, feature, probs } = standardizedModel(x, rows, kernel, bias);
  const cw = balancedClassWeights(
    Int32Array.from(rows, (r) => y[r]!),
    classes,
  );
  const total = rows.reduce((a, r) => a + cw[y[r]!]!, 0);
  const gw = Float64Array.from(w, (v) => LOGISTIC_L2 * v);
  const gb = new Float64Array(classes);
  for (const r of rows) {
    const p = probs(r);
    for (let c = 0; c < classes; c++) {
      const err = ((p[c]! - (y[r] === c ? 1 : 0)) * cw[y[r]!]!) / total;
      gb[c]! += err;
      for (let d = 0; d < dim; d++) gw[d * classes + c]! += err * feature(r, d);
    }
  }
  return { gw, gb, w };
}

describe('logistic head', () => {
  beforeAll(async () => {
    await initTf({ backend: 'wasm' });
  });

  it('returns the optimum of its objective, the same on every call', () => {
    const { x, y } = data(40, 3);
    const rows = Array.from({ length: 30 }, (_, i) => i);
    const fit = logisticWeights(x, y, rows, dim, classes);
    const { gw, gb, w } = gradient(x, y, rows, fit.kernel, fit.bias);
    // At zero the gradient's largest entry is the class signal (order 0.1–0.5); at the fit it is gone.
    const zero = gradient(x, y, rows, new Float32Array(dim * classes), new Float32Array(classes));
    const largest = (g: Float64Array) => Math.max(...Array.from(g, Math.abs));
    expect(largest(zero.gw)).toBeGreaterThan(0.1);
    expect(largest(gw)).toBeLessThan(1e-3);
    expect(largest(gb)).toBeLessThan(1e-3);
    // The penalty keeps the weights finite although the training rows may be separable.
    expect(largest(w)).toBeLessThan(10);
    // The constant dimension gets no weight, whatever its value on a new image.
    for (let c = 0; c < classes; c++) expect(fit.kernel[(dim - 1) * classes + c]).toBe(0);
    const again = logisticWeights(x, y, rows, dim, classes);
    expect(Array.from(again.kernel)).toEqual(Array.from(fit.kernel));
    expect(Array.from(again.bias)).toEqual(Array.from(fit.bias));
  });

  it('exports as a Dense softmax layer with the standardized model’s probabilities', () => {
    const { x, y } = data(60, 5);
    const rows = Array.from({ length: 30 }, (_, i) => i);
    const fit = logisticWeights(x, y, rows, dim, classes);
    const model64 = standardizedModel(x, rows, fit.kernel, fit.bias);
    const dense = tf.layers.dense({ units: classes, activation: 'softmax', inputShape: [dim] });
    const model = tf.sequential({ layers: [dense] });
    setDenseHead(dense, fit);
    const probs = tf.tidy(
      () => (model.predict(tf.tensor2d(x, [60, dim])) as tf.Tensor).arraySync() as number[][],
    );
    for (let i = 30; i < 60; i++) {
      const p = model64.probs(i);
      for (let c = 0; c < classes; c++) expect(Math.abs(probs[i]![c]! - p[c]!)).toBeLessThan(1e-4);
    }
    model.dispose();
  });
});
