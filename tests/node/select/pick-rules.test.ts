/**
 * The replay tools that compare pick rules on recorded searches (bench/select/pick-rules.ts,
 * bench/select/learning-curve.ts): k read off old records, the shrunk estimates, the
 * Nadeau–Bengio step and the learning-curve correction, each on constructed scores.
 */
import { describe, expect, it } from 'vitest';
import {
  MAX_SCALE,
  fitScale,
  lossesToCompare,
  pickScale,
  scaledHeldLoss,
  scaledLossAt,
  successionSmoothing,
} from '../../../training/select/scaled-loss.ts';
import { fixedHindsight } from '../../../bench/select/fixed-hindsight.ts';
import { correctedPick, trainPerClass } from '../../../bench/select/learning-curve.ts';
import { RULES, cutOf, foldCountOf, replayed, shrunkEstimates } from '../../../bench/select/pick-rules.ts';
import { mean } from '../../../training/select/choose.ts';

const rule = (prefix: string) => RULES.find((r) => r.title.startsWith(prefix))!;

describe('replayed runs', () => {
  it('read k off the split scores of a run recorded without it', () => {
    const row = (folds: number[]) => ({ id: 'a · linear', complexity: 10, folds, testAccuracy: 0.5 });
    // 50 labelled images: held-out folds of 5 (scores in fifths) are k = 10, of 10 (tenths) k = 5.
    expect(foldCountOf({ task: 't', seed: 1, rows: [row([0.8, 0.6, 1])] }, 50)).toBe(10);
    expect(foldCountOf({ task: 't', seed: 1, rows: [row([0.8, 0.7, 1])] }, 50)).toBe(5);
    expect(foldCountOf({ task: 't', seed: 1, k: 7, rows: [row([0.8, 0.7])] }, 50)).toBe(7);
    // The family of an old record comes from its id.
    const r = replayed({
      task: 't',
      seed: 1,
      rows: [row([1, 1]), { ...row([]), id: 'fine-tune 1 · linear' }],
    })!;
    expect(r).toHaveLength(1);
    expect(r[0]!.family).toBe('a');
  });
});

describe('the best fixed configuration in hindsight', () => {
  it("is the best mean test accuracy over the runs, its gap the mean shortfall to each run's best", () => {
    const run = (seed: number, tests: Record<string, number | null>) => ({
      task: 't',
      seed,
      rows: Object.entries(tests).map(([id, testAccuracy]) => ({
        id,
        complexity: 0,
        folds: [1],
        testAccuracy,
      })),
    });
    const runs = [
      run(1, { a: 0.9, b: 0.8, c: 0.99 }),
      run(2, { a: 0.9, b: 1.0, c: null }),
      run(3, { a: 0.9, b: 0.85, c: 0.5 }),
      { ...run(4, { a: 0, b: 0 }), task: 'other' },
    ];
    // c lacks a test figure in run 2, so it is not a candidate however good it is in run 1.
    const f = fixedHindsight('t', runs)!;
    expect(f.id).toBe('a');
    expect(f.runs).toBe(3);
    expect(f.meanTest).toBeCloseTo(0.9, 12);
    expect(f.gap).toBeCloseTo((0.09 + 0.1 + 0) / 3, 12);
    expect(fixedHindsight('none', runs)).toBeNull();
  });
});

describe('cut configurations in replayed runs', () => {
  it('are read off the split counts of a run recorded without the field', () => {
    const row = (id: string, n: number, cut?: boolean) => ({
      id,
      complexity: 0,
      folds: Array(n).fill(0.8),
      testAccuracy: 0.5,
      ...(cut === undefined ? {} : { cut }),
    });
    const rows = [
      row('features · linear', 10),
      row('features · mlp', 5),
      row('fine-tune 1 · linear', 5),
      row('fine-tune 2 · linear', 2),
      row('scratch CNN', 4),
    ];
    const cut = replayed({ task: 't', seed: 1, rows })!.map((c) => [c.id, c.cut]);
    expect(cut).toEqual([
      ['features · linear', false],
      ['features · mlp', true],
      ['fine-tune 1 · linear', false],
      ['fine-tune 2 · linear', true],
      ['scratch CNN', true],
    ]);
    // Recorded: taken as it is.
    expect(cutOf(row('fine-tune 2 · linear', 2, false), rows)).toBe(false);
    expect(cutOf(row('features · linear', 10, true), rows)).toBe(true);
    // A 5-fold plan's heads over two shuffles: the re-trained layers' 5 splits are all theirs.
    expect(cutOf(row('scratch CNN', 5), [row('a · linear', 10), row('scratch CNN', 5)])).toBe(false);
  });
});

describe('pick rules', () => {
  it('shrink a lead measured on 2 splits more than the same lead measured on 10', () => {
    const ref = [0.8, 0.6, 0.9, 0.7, 0.8, 0.6, 0.9, 0.7, 0.8, 0.7];
    const jitter = [0.05, -0.05, 0, 0.05, -0.05, 0, 0.05, -0.05, 0, 0];
    const scored = [
      { id: 'ref', complexity: 0, folds: ref },
      { id: 'short', complexity: 1, folds: ref.slice(0, 2).map((x, i) => x + 0.1 + jitter[i]!) },
      { id: 'long', complexity: 2, folds: ref.map((x, i) => x + 0.1 + jitter[i]!) },
      { id: 'low', complexity: 3, folds: ref.map((x, i) => x - 0.2 + jitter[i]!) },
    ];
    const e = shrunkEstimates(scored);
    const raw = (id: string, n: number) =>
      mean(ref) +
      mean(
        scored
          .find((s) => s.id === id)!
          .folds.slice(0, n)
          .map((x, i) => x - ref[i]!),
      );
    const pulled = (id: string, n: number) => raw(id, n) - e.get(id)!;
    expect(pulled('short', 2)).toBeGreaterThan(pulled('long', 10));
    expect(pulled('long', 10)).toBeGreaterThanOrEqual(0);
    expect(rule('best empirical-Bayes').pick(scored, 10)).toBe('long');
  });

  it('step further with the Nadeau–Bengio-corrected SE than with the plain one', () => {
    const base = [0.8, 0.6, 0.9, 0.7, 0.8, 0.6, 0.8, 0.7, 0.9, 0.8];
    // "linear" trails "mlp" by a mean of 2.5 points with a paired SE of 2.0: outside one plain SE,
    // inside one corrected SE (× √(1 + 10/9) ≈ 1.45 at k = 10).
    const lag = [0.2, 0, 0, 0, 0, 0, 0, 0, 0, 0.05];
    const scored = [
      { id: 'linear', complexity: 10, folds: base.map((x, i) => x - lag[i]!), family: 'layer' },
      { id: 'mlp', complexity: 20, folds: base, family: 'layer' },
    ];
    expect(rule('accuracy: most probably best, one-SE step').pick(scored, 10)).toBe('mlp');
    expect(rule('most probably best, step within one Nadeau').pick(scored, 10)).toBe('linear');
  });
});

describe('rules on held-out scores', () => {
  it('separate configurations tied in accuracy by their held-out loss, and cannot replay a run without it', () => {
    const folds = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1];
    const scored = [
      { id: 'a · prototype', complexity: 1, family: 'a', folds, heldLoss: folds.map(() => 0.5) },
      {
        id: 'b · prototype',
        complexity: 1,
        family: 'b',
        folds,
        heldLoss: folds.map((_, i) => 0.2 + i / 100),
      },
    ];
    const withBrier = scored.map((c) => ({ ...c, heldBrier: c.heldLoss }));
    expect(rule('accuracy: most probably best, one-SE step').pick(scored, 10)).toBe('a · prototype');
    expect(rule('shipped').pick(scored, 10)).toBe('b · prototype');
    expect(rule('held-out cross-entropy: most probably best,').pick(scored, 10)).toBe('b · prototype');
    expect(
      rule('shipped').pick(
        scored.map((c) => ({ ...c, heldLoss: undefined })),
        10,
      ),
    ).toBeUndefined();
    expect(rule('held-out Brier score: most probably best,').pick(withBrier, 10)).toBe('b · prototype');
    expect(rule('held-out Brier score: most probably best,').pick(scored, 10)).toBeUndefined();
  });
});

/** Mean cross-entropy against labels smoothed by `e` (spread over the other classes), written out. */
function smoothedAt(lp: readonly number[], labels: readonly number[], k: number, e: number): number {
  const classes = lp.length / labels.length;
  let loss = 0;
  for (let i = 0; i < labels.length; i++) {
    const row = lp.slice(i * classes, (i + 1) * classes).map((v) => k * v);
    const lse = Math.log(row.reduce((a, v) => a + Math.exp(v), 0));
    for (let c = 0; c < classes; c++) {
      const t = c === labels[i] ? 1 - e : e / (classes - 1);
      loss -= t * (row[c]! - lse);
    }
  }
  return loss / labels.length;
}

describe('temperature-scaled held-out cross-entropy', () => {
  // Two classes, four held-out images per split: log-probabilities from logits ±m.
  const logProbs = (margins: number[], labels: number[]) =>
    margins.flatMap((m, i) => {
      const z = labels[i] === 0 ? [m, -m] : [-m, m];
      const lse = Math.log(Math.exp(z[0]!) + Math.exp(z[1]!));
      return z.map((v) => v - lse);
    });
  const labels = [
    [0, 1, 0, 1],
    [1, 0, 1, 0],
  ];

  it('fits the factor at which the derivative of the loss vanishes, and undoes a rescaled model', () => {
    const lp = logProbs([2, 0.5, -1, 3], [0, 1, 0, 1]);
    const s = fitScale(lp, [0, 1, 0, 1]);
    const loss = (k: number) => scaledLossAt(lp, [0, 1, 0, 1], k);
    expect(loss(s)).toBeLessThan(loss(s * 1.01));
    expect(loss(s)).toBeLessThan(loss(s * 0.99));
    // The same scores five times sharper fit a factor five times smaller, to the same loss.
    const sharp = logProbs([10, 2.5, -5, 15], [0, 1, 0, 1]);
    expect(fitScale(sharp, [0, 1, 0, 1])).toBeCloseTo(s / 5, 4);
    // Every image right: no finite optimum, the cap.
    expect(fitScale(logProbs([1, 2, 1, 2], [0, 1, 0, 1]), [0, 1, 0, 1])).toBe(MAX_SCALE);
  });

  it('fits a configuration with every held-out image right against labels smoothed by the rule of succession', () => {
    const right = labels.map((l) => logProbs([1, 2, 1, 2], l));
    // 8 held-out images, all right: smoothing 1/10, a finite factor; the rule before: the cap.
    expect(successionSmoothing(8)).toBeCloseTo(0.1, 12);
    const s = pickScale(right, labels);
    expect(s).toBeGreaterThan(0);
    expect(s).toBeLessThan(MAX_SCALE);
    expect(pickScale(right, labels, false)).toBe(MAX_SCALE);
    // It is the smoothed loss's optimum: its derivative changes sign there.
    const smoothedLoss = (k: number) => right.reduce((a, lp, i) => a + smoothedAt(lp, labels[i]!, k, 0.1), 0);
    expect(smoothedLoss(s)).toBeLessThan(smoothedLoss(s * 1.01));
    expect(smoothedLoss(s)).toBeLessThan(smoothedLoss(s * 0.99));
    // One image wrong: the plain optimum exists and is kept.
    const oneWrong = labels.map((l) => logProbs([1, 2, -1, 2], l));
    expect(pickScale(oneWrong, labels)).toBe(fitScale(oneWrong.flat(), labels.flat()));
    // The pick compares the plain cross-entropy at that factor.
    expect(scaledHeldLoss(right, labels)).toEqual(right.map((lp, i) => scaledLossAt(lp, labels[i]!, s)));
  });

  it('prefer the configuration that separates the classes to the one that is merely sharp', () => {
    // a: every image right by a small margin, probabilities near 1/2 (high raw loss); b: sharp,
    // three images right by a wide margin and one wrong (lower raw loss).
    const row = (id: string, margins: number[]) => {
      const heldLogProbs = labels.map((l) => logProbs(margins, l));
      return {
        id,
        complexity: 0,
        family: id,
        folds: labels.map(() => margins.filter((m) => m > 0).length / margins.length),
        heldLogProbs,
        heldLoss: heldLogProbs.map((x, i) => scaledLossAt(x, labels[i]!, 1)),
      };
    };
    const scored = [row('a · prototype', [0.05, 0.05, 0.05, 0.05]), row('b · logistic', [3, 3, 3, -0.2])];
    expect(scored[0]!.heldLoss[0]).toBeGreaterThan(scored[1]!.heldLoss[0]!);
    // The shipped pick scales where the run recorded its held-out labels; without them, the raw
    // cross-entropy it shipped with before.
    expect(rule('shipped').pick(scored, 2, labels)).toBe('a · prototype');
    expect(rule('shipped').pick(scored, 2)).toBe('b · logistic');
    expect(rule('held-out cross-entropy, most probably best (shipped before)').pick(scored, 2, labels)).toBe(
      'b · logistic',
    );
  });

  it('compare raw losses for every configuration when one lacks its log-probabilities', () => {
    const lp = (m: number) => labels.map((l) => logProbs([m, m, m, -m / 4], l));
    const config = (m: number) => ({
      heldLoss: lp(m).map((x, i) => scaledLossAt(x, labels[i]!, 1)),
      heldLogProbs: lp(m),
    });
    const both = lossesToCompare([config(1), config(4)], labels);
    expect(both.scaled).toBe(true);
    // Scaled, the two are the same scores at two sharpnesses: the same loss.
    expect(both.losses[0]![0]).toBeCloseTo(both.losses[1]![0]!, 6);
    const partial = lossesToCompare([config(1), { ...config(4), heldLogProbs: [lp(4)[0]!, []] }], labels);
    expect(partial.scaled).toBe(false);
    expect(partial.losses).toEqual([config(1).heldLoss, config(4).heldLoss]);
  });
});

describe('learning-curve correction', () => {
  it('counts the training images per class of a fold and of the export', () => {
    expect([trainPerClass(5), trainPerClass(10), trainPerClass(Number.POSITIVE_INFINITY)]).toEqual([6, 7, 8]);
  });

  it('lifts a configuration that gains steeply with training size past a flat one, and not one that gains little', () => {
    const ref = [0.8, 0.8, 0.6, 0.8, 1, 0.8, 0.8, 0.6, 0.8, 1];
    const head = { id: 'layer · linear', complexity: 10, testAccuracy: 0.8 };
    const scratch = { id: 'scratch CNN', complexity: 1000, testAccuracy: 0.85 };
    // At k = 10 the scratch CNN is 4 points below the head; at k = 5 it was 14 points below (the
    // head did not move): carried one more image per class it ends 6 points above.
    const large = {
      k: 10,
      scored: [
        { ...head, folds: ref },
        { ...scratch, folds: ref.slice(0, 5).map((x) => x - 0.04) },
      ],
    };
    const steep = {
      k: 5,
      scored: [
        { ...head, folds: ref },
        { ...scratch, folds: ref.slice(0, 5).map((x) => x - 0.14) },
      ],
    };
    const flat = {
      ...steep,
      scored: [steep.scored[0]!, { ...scratch, folds: ref.slice(0, 5).map((x) => x - 0.06) }],
    };
    const onlyScratch = (id: string) => id === 'scratch CNN';
    expect(correctedPick(steep, large, () => false)).toBe('layer · linear');
    expect(correctedPick(steep, large, onlyScratch)).toBe('scratch CNN');
    expect(correctedPick(flat, large, onlyScratch)).toBe('layer · linear');
  });
});
