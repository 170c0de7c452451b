/**
 * The pieces of `--select auto` that need no backbone: stratified folds, the inner validation
 * split, the repeated split plan, the paired one-standard-error rule and racing, and the prototype
 * head as a dense layer.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { classMeanWeights, setClassMeanHead } from '../../../training/fit/class-means.ts';
import {
  chooseByHeldLoss,
  choosePaired,
  clearlyBetter,
  clearlyWorse,
  mean,
  pairedDifference,
  sd,
} from '../../../training/select/choose.ts';
import { foldCount, innerSplit, splitPlan, stratifiedFolds } from '../../../training/select/folds.ts';
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

describe('repeated split plan', () => {
  it('is k stratified folds per shuffle, the first shuffle being the plain k-fold, with inner splits inside the training folds', () => {
    const y = labels([10, 10, 10]);
    const plan = splitPlan(y, 5, 3, 11, 0.2);
    expect(plan).toHaveLength(15);
    expect(plan.slice(0, 5).map((s) => s.held)).toEqual(stratifiedFolds(y, 5, 11));
    for (let r = 0; r < 3; r++) {
      const shuffle = plan.filter((s) => s.repeat === r);
      expect(shuffle.map((s) => s.fold)).toEqual([0, 1, 2, 3, 4]);
      expect(shuffle.flatMap((s) => s.held).sort((a, b) => a - b)).toEqual(Array.from(y.keys()));
      for (const s of shuffle) {
        const inside = [...s.train, ...s.val].sort((a, b) => a - b);
        expect(inside).toEqual(Array.from(y.keys()).filter((i) => !s.held.includes(i)));
        for (let c = 0; c < 3; c++) expect(s.held.filter((i) => y[i] === c)).toHaveLength(2);
      }
    }
    // Different shuffles hold out different images together.
    expect(plan[5]!.held).not.toEqual(plan[0]!.held);
    expect(splitPlan(y, 5, 3, 11, 0.2)).toEqual(plan);
  });
});

describe('paired comparison', () => {
  it('separates configurations by their per-split differences where their means alone do not', () => {
    // Fold difficulty swings every configuration by ±20 points; "b" is 3 points better on every
    // split. Unpaired, its mean is well inside one standard error of "a"'s; paired, it is clearly better.
    const swing = [0.2, -0.2, 0.1, -0.1, 0, 0.16, -0.16, 0.04, -0.04, 0];
    const a = swing.map((d) => 0.7 + d);
    const b = swing.map((d) => 0.73 + d);
    expect(mean(b) - mean(a)).toBeLessThan(sd(b) / Math.sqrt(10));
    const d = pairedDifference(b, a);
    expect(d.mean).toBeCloseTo(0.03, 12);
    expect(d.se).toBeCloseTo(0, 12);
    const c = choosePaired(
      [
        { id: 'a', complexity: 0, folds: a },
        { id: 'b', complexity: 1, folds: b },
      ],
      2,
    )!;
    expect(c.best).toBe('b');
    expect(c.winner).toBe('b');
  });

  it('steps to the simplest configuration of its family within one paired standard error', () => {
    const base = [0.8, 0.6, 0.9, 0.7, 0.8, 0.6];
    // "mlp" beats "linear" by 5 points on half the splits and ties on the rest: mean 2.5, SE 1.1.
    const linear = base;
    const mlp = base.map((x, i) => x + (i % 2 === 0 ? 0.05 : 0));
    const proto = base.map((x) => x - 0.1);
    const scored = [
      { id: 'prototype', complexity: 0, folds: proto, family: 'layer' },
      { id: 'linear', complexity: 1, folds: linear, family: 'layer' },
      { id: 'mlp', complexity: 2, folds: mlp, family: 'layer' },
    ];
    const c = choosePaired(scored, 2)!;
    expect(c.best).toBe('mlp');
    expect(c.winner).toBe('mlp');
    const e = c.estimates.find((x) => x.id === 'linear')!;
    expect(e.vsBest).toBeCloseTo(-0.025, 12);
    expect(e.vsBestSe).toBeCloseTo(sd([-0.05, 0, -0.05, 0, -0.05, 0]) / Math.sqrt(6), 12);
    // Noisier differences (SE larger than the mean gap): the simpler linear head is taken.
    const noisy = base.map((x, i) => x + [0.1, -0.05, 0.1, -0.05, 0.05, 0][i]!);
    const c2 = choosePaired(
      [scored[0]!, scored[1]!, { id: 'mlp', complexity: 2, folds: noisy, family: 'layer' }],
      2,
    )!;
    expect(c2.best).toBe('mlp');
    expect(c2.mostProbable).toBe('mlp');
    expect(c2.winner).toBe('linear');
  });

  it('never steps across families: a simpler configuration elsewhere within one SE does not displace the pick', () => {
    // The scratch CNN leads a prototype head on another network by a noisy 2 points (SE larger than
    // that), and an MLP on the prototype's layer trails it: the step is only taken inside the family.
    const scratch = [0.8, 1, 0.6, 0.8, 1, 0.8, 0.8, 0.6, 1, 0.8];
    const proto = [1, 0.8, 0.6, 0.8, 0.8, 0.8, 0.6, 0.8, 1, 0.8];
    const mlp = proto.map((x, i) => (i === 0 ? x - 0.2 : x));
    const scored = [
      { id: 'features · prototype', complexity: 0, folds: proto, family: 'features' },
      { id: 'features · mlp', complexity: 20, folds: mlp, family: 'features' },
      { id: 'scratch CNN', complexity: 1000, folds: scratch.slice(0, 5) },
    ];
    const c = choosePaired(scored, 2)!;
    const e = c.estimates.find((x) => x.id === 'features · prototype')!;
    expect(e.vsBest).toBeLessThan(0);
    expect(e.vsBest + e.vsBestSe).toBeGreaterThan(0);
    expect(c.mostProbable).toBe('scratch CNN');
    expect(c.winner).toBe('scratch CNN');
    // The same scores with the prototype in the scratch CNN's family: the step is taken.
    const nested = choosePaired(
      scored.map((s) => ({ ...s, family: 'one' })),
      2,
    )!;
    expect(nested.winner).toBe('features · prototype');
  });

  it('picks the configuration most often best over the splits, not one lifted by a single lucky split', () => {
    const ref = [0.7, 0.9, 0.8, 0.6, 0.7, 0.9, 0.8, 0.6, 0.7, 0.8];
    // "steady" is 5 points above the reference on every split; "lucky", scored on 6, is 10 points
    // below on five of them and 90 above on one: a higher mean (+6.7), but best in fewer draws.
    const steady = ref.map((x) => x + 0.05);
    const lucky = ref.slice(0, 6).map((x, i) => x + (i === 2 ? 0.9 : -0.1));
    const scored = [
      { id: 'ref', complexity: 0, folds: ref },
      { id: 'steady', complexity: 10, folds: steady },
      { id: 'lucky', complexity: 100, folds: lucky },
    ];
    const c = choosePaired(scored, 2)!;
    expect(c.best).toBe('lucky');
    expect(c.mostProbable).toBe('steady');
    expect(c.winner).toBe('steady');
    const p = new Map(c.estimates.map((e) => [e.id, e.probabilityBest]));
    expect(p.get('ref')).toBe(0);
    // Rubin's bootstrap for 6 splits: P(lucky leads) = P(w₀ > 0.15/0.85 · Σw₁..₅) = (1/1.176)⁵ ≈ 0.44.
    expect(p.get('lucky')!).toBeGreaterThan(0.41);
    expect(p.get('lucky')!).toBeLessThan(0.47);
    expect(p.get('steady')! + p.get('lucky')!).toBeCloseTo(1, 12);
    // Deterministic: a replay on the same splits gives the same probabilities.
    expect(choosePaired(scored, 2)!.estimates).toEqual(c.estimates);
  });

  it('gives a tie on every split to the simpler configuration, and a consistent lead to the deeper one', () => {
    // Two fine-tuning depths with the same score on every split (OpenCV digits, seed 3): nothing
    // in the labelled images separates them, so the simpler one is taken.
    const ft1 = [1, 0.8, 0.8, 0.8, 0.8];
    const scored = [
      { id: 'fine-tune 1', complexity: 101, folds: ft1, family: 'fine-tune' },
      { id: 'fine-tune 2', complexity: 102, folds: ft1.slice(), family: 'fine-tune' },
    ];
    const tie = choosePaired(scored, 2)!;
    expect(tie.mostProbable).toBe('fine-tune 1');
    expect(tie.winner).toBe('fine-tune 1');
    // Ahead by one image on every split: the difference has no spread, so no step back.
    const ahead = choosePaired([scored[0]!, { ...scored[1]!, folds: ft1.map((x) => x + 0.1) }], 2)!;
    expect(ahead.mostProbable).toBe('fine-tune 2');
    expect(ahead.winner).toBe('fine-tune 2');
  });

  it('fills in a configuration scored on fewer splits from the reference, and ignores one with too few', () => {
    const ref = [0.7, 0.9, 0.8, 0.6, 0.7, 0.9, 0.8, 0.6];
    // Scored on the first 4 splits only, 10 points above the reference on each.
    const partial = ref.slice(0, 4).map((x) => x + 0.1);
    const c = choosePaired(
      [
        { id: 'ref', complexity: 0, folds: ref },
        { id: 'partial', complexity: 5, folds: partial },
        { id: 'one', complexity: 1, folds: [1] },
      ],
      2,
    )!;
    expect(c.reference).toBe('ref');
    expect(c.estimates.map((e) => e.id)).toEqual(['ref', 'partial']);
    expect(c.estimates[1]!.estimate).toBeCloseTo(mean(ref) + 0.1, 12);
    expect(c.winner).toBe('partial');
    expect(choosePaired([{ id: 'one', complexity: 0, folds: [1] }], 2)).toBeNull();
  });

  it('lets a configuration cut short lead only when clearly better, and never steps onto one', () => {
    // A head scored on all 10 splits; `fine-tune 1` stopped by racing after 2 (clearly worse than
    // the head on both); `fine-tune 2` cut by the budget after 2, ahead of the head by a noisy
    // 5 points. Uncut, `fine-tune 2` leads most bootstrap draws and the step inside its family
    // lands on `fine-tune 1`, which racing had already ruled out.
    const linear = [0.8, 0.9, 0.8, 0.7, 0.9, 0.8, 0.8, 0.9, 0.7, 0.8];
    const head = { id: 'features · linear', complexity: 10, folds: linear, family: 'features' };
    const ft1 = { id: 'fine-tune 1', complexity: 101, folds: [0.6, 0.8], family: 'fine-tune' };
    const ft2 = { id: 'fine-tune 2', complexity: 102, folds: [1, 0.8], family: 'fine-tune' };
    expect(clearlyWorse(ft1.folds, linear, 2)).toBe(true);
    const uncut = choosePaired([head, ft1, ft2], 2)!;
    expect(uncut.mostProbable).toBe('fine-tune 2');
    expect(uncut.winner).toBe('fine-tune 1');
    const c = choosePaired([head, { ...ft1, cut: true }, { ...ft2, cut: true }], 2)!;
    expect(c.estimates.find((e) => e.id === 'fine-tune 2')!.probabilityBest).toBeGreaterThan(0.5);
    expect(c.mostProbable).toBe('features · linear');
    expect(c.winner).toBe('features · linear');
    // Ahead of the head on both its splits by more than they differ: the evidence lets it lead,
    // and the step still passes over the racing-stopped `fine-tune 1`.
    const ahead = { ...ft2, folds: [1, 1], cut: true };
    expect(clearlyBetter(ahead.folds, linear)).toBe(true);
    const lead = choosePaired([head, { ...ft1, folds: [0.8, 0.8], cut: true }, ahead], 2)!;
    expect(lead.mostProbable).toBe('fine-tune 2');
    expect(lead.winner).toBe('fine-tune 2');
    // Everything cut (a tiny budget): the most probably best still leads.
    const allCut = choosePaired(
      [
        { ...head, folds: linear.slice(0, 3), cut: true },
        { ...ft2, cut: true },
      ],
      2,
    )!;
    expect(allCut.winner).toBe('fine-tune 2');
  });

  it('racing stops a configuration only when it is clearly worse after enough splits', () => {
    const leader = [0.8, 0.7, 0.9, 0.8, 0.6];
    const worse = leader.map((x) => x - 0.2);
    expect(clearlyWorse(worse.slice(0, 2), leader, 3)).toBe(false);
    expect(clearlyWorse(worse.slice(0, 3), leader, 3)).toBe(true);
    // Worse on average but not consistently: keeps running.
    expect(clearlyWorse([0.6, 0.8, 0.7], [0.8, 0.7, 0.8], 3)).toBe(false);
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

describe('the pick by held-out cross-entropy', () => {
  const acc = [1, 0.8, 1, 0.8, 1, 0.8, 1, 0.8, 1, 0.8];
  it('separates configurations tied in accuracy by how much probability the held-out images got', () => {
    const scored = [
      { id: 'prototype', complexity: 0, family: 'l', folds: acc, heldLoss: acc.map((a) => 1.2 - a) },
      { id: 'scratch CNN', complexity: 5, folds: acc, heldLoss: acc.map((a) => 0.9 - a) },
    ];
    // On accuracy they tie and the simpler wins; on the cross-entropy the scratch CNN is lower on every split.
    expect(choosePaired(scored, 2)!.winner).toBe('prototype');
    const c = chooseByHeldLoss(scored, 2)!;
    expect(c.winner).toBe('scratch CNN');
    const est = Object.fromEntries(c.estimates.map((e) => [e.id, e]));
    expect(est['scratch CNN']!.loss).toBeCloseTo(mean(acc.map((a) => 0.9 - a)), 12);
    expect(est.prototype!.loss).toBeCloseTo(mean(acc.map((a) => 1.2 - a)), 12);
    expect(est['scratch CNN']!.probabilityBest).toBeGreaterThan(0.99);
  });

  it('does not take a configuration the search cut short unless it is clearly better', () => {
    const head = {
      id: 'head',
      complexity: 0,
      folds: acc,
      heldLoss: [0.5, 0.7, 0.5, 0.6, 0.5, 0.7, 0.5, 0.6, 0.5, 0.7],
    };
    // Lower on its 2 splits, but by less than two standard errors of the paired difference.
    const cut = { id: 'fine-tune 1', complexity: 3, folds: [1, 0.8], heldLoss: [0.3, 0.7], cut: true };
    expect(chooseByHeldLoss([head, cut], 2)!.winner).toBe('head');
    // Clearly lower on both: it leads.
    const ahead = { ...cut, heldLoss: [0.1, 0.3] };
    expect(chooseByHeldLoss([head, ahead], 2)!.winner).toBe('fine-tune 1');
  });
});
