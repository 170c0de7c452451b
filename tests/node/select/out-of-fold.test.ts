/**
 * Out-of-fold probabilities of a computed head (training/select/out-of-fold.ts): every labelled
 * image predicted once, by the head fitted on the folds that do not hold it.
 */
import { describe, expect, it } from 'vitest';
import { classMeanWeights } from '../../../training/fit/class-means.ts';
import { logisticWeights } from '../../../training/fit/logistic.ts';
import { denseProbs, outOfFoldProbs } from '../../../training/select/out-of-fold.ts';
import { stratifiedFolds } from '../../../training/select/folds.ts';
import { createRng } from '../../../shared/random.ts';

describe('outOfFoldProbs', () => {
  // 3 classes × 5 images in 4 dimensions: class c centred on 2·e_c, with noise.
  const rng = createRng(5);
  const y = Int32Array.from({ length: 15 }, (_, i) => i % 3);
  const dim = 4;
  const x = Float32Array.from({ length: 15 * dim }, (_, j) => {
    const i = Math.floor(j / dim);
    return (j % dim === y[i] ? 2 : 0) + (rng() - 0.5);
  });

  it('predicts every image with the prototype fitted without its fold', () => {
    const { probs, k } = outOfFoldProbs('prototype', x, y, dim, 3, 9, 10);
    expect(k).toBe(5);
    for (const held of stratifiedFolds(y, k, 9)) {
      const rest = Array.from(y.keys()).filter((i) => !held.includes(i));
      const expected = denseProbs(classMeanWeights(x, y, rest, dim, 3), x, held, dim);
      held.forEach((r, i) => {
        for (let c = 0; c < 3; c++) expect(probs[r * 3 + c]).toBeCloseTo(expected[i * 3 + c]!, 6);
      });
    }
    for (let r = 0; r < 15; r++)
      expect(probs[r * 3]! + probs[r * 3 + 1]! + probs[r * 3 + 2]!).toBeCloseTo(1, 5);
  });

  it('scores a logistic head on images its fit did not see', () => {
    const { probs: oof, k } = outOfFoldProbs('logistic', x, y, dim, 3, 9, 3);
    expect(k).toBe(3);
    const all = Array.from(y.keys());
    const inSample = denseProbs(logisticWeights(x, y, all, dim, 3), x, all, dim);
    // Fitted with the image, the head gives its class more probability than fitted without it.
    const truth = (p: Float32Array) => all.reduce((a, r) => a + p[r * 3 + y[r]!]!, 0) / all.length;
    expect(truth(inSample)).toBeGreaterThan(truth(oof));
    // Well-separated classes: every image's own class is still the most probable out of fold.
    for (const r of all) {
      const p = [oof[r * 3]!, oof[r * 3 + 1]!, oof[r * 3 + 2]!];
      expect(p.indexOf(Math.max(...p))).toBe(y[r]);
    }
  });
});
