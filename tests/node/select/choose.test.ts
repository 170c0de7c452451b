/**
 * The pieces of `--select auto` that need no backbone: stratified folds, the inner validation
 * split, the one-standard-error rule, and the prototype head as a dense layer.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { classMeanWeights, setClassMeanHead } from '../../../training/fit/class-means.ts';
import { chooseOneStandardError, mean, sd } from '../../../training/select/choose.ts';
import { foldCount, innerSplit, stratifiedFolds } from '../../../training/select/folds.ts';
import { createRng } from '../../../shared/random.ts';
import { initTf } from '../../../training/tf/backend.ts';

const labels = (perClass: number[]) => Int32Array.from(perClass.flatMap((n, c) => Array(n).fill(c)));

describe('stratified folds', () => {
  it('put every image in exactly one fold, each class spread evenly', () => {
    const y = labels([10, 10, 7, 12]);
    const k = foldCount(y, 4);
    expect(k).toBe(5);
    const folds = stratifiedFolds(y, k, 3);
    expect(folds.flat().sort((a, b) => a - b)).toEqual(Array.from(y.keys()));
    for (let c = 0; c < 4; c++) {
      const per = folds.map((f) => f.filter((i) => y[i] === c).length);
      expect(Math.max(...per) - Math.min(...per)).toBeLessThanOrEqual(1);
    }
    const sizes = folds.map((f) => f.length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    expect(stratifiedFolds(y, k, 3)).toEqual(folds);
    expect(stratifiedFolds(y, k, 4)).not.toEqual(folds);
  });

  it('use fewer folds for a small class and refuse a class of one', () => {
    expect(foldCount(labels([3, 8]), 2)).toBe(3);
    expect(() => foldCount(labels([1, 8]), 2)).toThrow(/at least 2 labelled images in every class/);
  });

  it('hold out the same share per class inside the training folds as the final split does', () => {
    const y = labels([8, 8, 8]);
    const idx = Array.from(y.keys());
    const { train, val } = innerSplit(y, idx, 0.2, 1);
    expect([...train, ...val].sort((a, b) => a - b)).toEqual(idx);
    for (let c = 0; c < 3; c++) expect(val.filter((i) => y[i] === c)).toHaveLength(2);
  });
});

describe('one-standard-error rule', () => {
  it('takes the simplest configuration within one standard error of the best mean', () => {
    const scored = [
      { id: 'linear', complexity: 1, folds: [0.9, 0.85, 0.95, 0.9, 0.9] },
      { id: 'mlp', complexity: 2, folds: [0.95, 0.9, 1, 0.9, 0.95] },
      { id: 'prototype', complexity: 0, folds: [0.7, 0.75, 0.7, 0.7, 0.8] },
    ];
    const best = scored[1]!;
    const c = chooseOneStandardError(scored, 5)!;
    expect(c.best).toBe('mlp');
    expect(c.threshold).toBeCloseTo(mean(best.folds) - sd(best.folds) / Math.sqrt(5), 12);
    // 0.90 ≥ 0.94 − 0.0187? No: the linear head is more than one SE below, so the MLP wins.
    expect(c.winner).toBe('mlp');
    const noisy = scored.map((s) => (s.id === 'mlp' ? { ...s, folds: [1, 0.8, 1, 0.85, 1] } : s));
    // Best mean 0.93 with SE 0.044: the linear head (0.90) is within it and simpler.
    expect(chooseOneStandardError(noisy, 5)!.winner).toBe('linear');
  });

  it('ignores configurations stopped before all folds, and has no pick without any', () => {
    const scored = [
      { id: 'a', complexity: 5, folds: [0.8, 0.8, 0.8] },
      { id: 'b', complexity: 0, folds: [1] },
    ];
    expect(chooseOneStandardError(scored, 3)!.winner).toBe('a');
    expect(chooseOneStandardError([{ id: 'b', complexity: 0, folds: [1] }], 3)).toBeNull();
  });
});

describe('prototype head', () => {
  beforeAll(async () => {
    await initTf({ backend: 'wasm' });
  });

  it('as a dense softmax layer predicts the nearest class mean', () => {
    const rng = createRng(5);
    const dim = 6;
    const classes = 3;
    const n = 60;
    const y = Int32Array.from({ length: n }, (_, i) => i % classes);
    const x = Float32Array.from({ length: n * dim }, (_, j) => y[Math.floor(j / dim)]! * 0.7 + rng() * 2);
    const rows = Array.from({ length: 30 }, (_, i) => i);
    const w = classMeanWeights(x, y, rows, dim, classes);
    const means = Array.from({ length: classes }, (_, c) =>
      Array.from({ length: dim }, (_, d) => mean(rows.filter((r) => y[r] === c).map((r) => x[r * dim + d]!))),
    );
    const dense = tf.layers.dense({ units: classes, activation: 'softmax', inputShape: [dim] });
    const model = tf.sequential({ layers: [dense] });
    setClassMeanHead(dense, x, y, rows, dim, classes);
    const probs = tf.tidy(
      () => (model.predict(tf.tensor2d(x, [n, dim])) as tf.Tensor).arraySync() as number[][],
    );
    let agree = 0;
    for (let i = 0; i < n; i++) {
      const dist = means.map((m) => m.reduce((a, v, d) => a + (x[i * dim + d]! - v) ** 2, 0));
      const nearest = dist.indexOf(Math.min(...dist));
      const argmax = probs[i]!.indexOf(Math.max(...probs[i]!));
      if (nearest === argmax) agree++;
      expect(probs[i]!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    }
    expect(agree).toBe(n);
    expect(w.kernel).toHaveLength(dim * classes);
    model.dispose();
  });
});
