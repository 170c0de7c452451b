/**
 * `--select auto` end to end on a small digits task (the demo's quick mnist backbone, 4 labelled
 * OpenCV sheet digits per class): every configuration is cross-validated on the same splits, the
 * export is choose.ts's pick on the recorded splits retrained on the run's split (its test
 * accuracy is exactly the configuration's hindsight figure), the report and metrics carry the
 * table, and the recipe's choice is reused — not searched again — the way a retraining job runs
 * it. A computed head fits every labelled image; without a test set it is scored by cross-validation.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { chooseByHeldLoss, choosePaired, mean } from '../../../training/select/choose.ts';
import { lossesToCompare } from '../../../training/select/scaled-loss.ts';
import { EXPENSIVE_RACE_MIN_SPLITS } from '../../../training/select/search.ts';
import { computedHead } from '../../../training/select/space.ts';
import { refitEpochs } from '../../../training/fit/phases.ts';
import { initTf } from '../../../training/tf/backend.ts';
import { TrainingRecipeSchema } from '../../../training/train/recipe.ts';
import { runTraining } from '../../../training/train/run.ts';
import { tmpDir } from '../train/fixtures.ts';
import { quickBackbone } from '../train/scale-fixtures.ts';

const DATA = 'opencv-digits:classes=0-4:per-class=4';
const TEST = 'opencv-digits:classes=0-4:skip-per-class=4:per-class=40';

describe('--select auto', () => {
  let backbone: string;
  beforeAll(async () => {
    await initTf({ backend: 'wasm' });
    // The demo's quick backbone (2,000 mnist digits, 2 epochs): built once per machine, shared.
    backbone = await quickBackbone();
  }, 900_000);

  it("cross-validates every configuration, exports the rule's pick and records it for retraining", async () => {
    const out = tmpDir('auto');
    const r = await runTraining({
      backbone,
      data: DATA,
      testData: TEST,
      name: 'auto-digits',
      seed: 1,
      select: 'auto',
      searchBudget: 3600,
      out,
    });
    const s = r.selection!.search!;
    expect(s.k).toBe(4);
    expect(s.repeats).toBe(2);
    expect(s.rows.map((c) => c.id)).toEqual([
      'features · prototype',
      'features · logistic',
      'features · mlp',
      'pool(block3_pool) · prototype',
      'pool(block3_pool) · logistic',
      'pool(block3_pool) · mlp',
      'pool(block2_pool) · prototype',
      'pool(block2_pool) · logistic',
      'pool(block2_pool) · mlp',
      'fine-tune 1 · linear',
      'fine-tune 2 · linear',
      'scratch CNN',
    ]);
    for (const c of s.rows) {
      expect(c.skipped).toBeNull();
      const cheap = c.kind === 'transfer' && c.trainable === 0;
      // Heads on cached activations: both shuffles, never raced; re-trained layers and the scratch
      // CNN: the first shuffle unless racing stopped them (after 2). Every configuration stopped
      // early says so.
      const full = cheap ? 8 : 4;
      expect(c.folds.length).toBeGreaterThanOrEqual(cheap ? full : EXPENSIVE_RACE_MIN_SPLITS);
      expect(c.folds.length).toBeLessThanOrEqual(full);
      if (c.folds.length < full) {
        expect(s.skipped.some((l) => l.startsWith(`${c.id}: stopped after ${c.folds.length} splits`))).toBe(
          true,
        );
      }
      // What racing stopped is marked cut, so the pick does not land on it (choose.ts).
      expect(c.cut ?? false).toBe(s.skipped.some((l) => l.startsWith(`${c.id}: stopped after`)));
      expect(c.mean).toBeCloseTo(mean(c.folds), 12);
      expect(c.testAccuracy).toBeGreaterThanOrEqual(0);
      expect(c.testAccuracy).toBeLessThanOrEqual(1);
    }
    // The pick is the rule's pick replayed on the recorded splits' held-out log-probabilities,
    // temperature-scaled; the best accuracy estimate (racing's leader) is none lower.
    const replay = choosePaired(s.rows, 2)!;
    const competing = s.rows.filter((c) => c.folds.length >= 2);
    const compared = lossesToCompare(competing, s.heldLabels);
    expect(compared.scaled).toBe(true);
    expect(s.scaledLoss).toBe(true);
    const pick = chooseByHeldLoss(
      competing.map((c, i) => ({ ...c, heldLoss: compared.losses[i]! })),
      2,
    )!;
    expect(s.best).toBe(replay.best);
    expect(s.winner.id).toBe(pick.winner);
    const bestRow = s.rows.find((c) => c.id === s.best)!;
    for (const e of replay.estimates) expect(e.estimate).toBeLessThanOrEqual(bestRow.estimate!);
    for (const e of replay.estimates) expect(s.rows.find((c) => c.id === e.id)!.estimate).toBe(e.estimate);
    for (const e of pick.estimates) {
      const row = s.rows.find((c) => c.id === e.id)!;
      expect(row.lossEstimate).toBe(e.loss);
      expect(row.probabilityBest).toBe(e.probabilityBest);
      expect(row.heldLoss).toHaveLength(row.folds.length);
      for (const l of row.heldLoss) expect(l).toBeGreaterThan(0);
    }
    const winner = s.rows.find((c) => c.id === s.winner.id)!;
    // The export fit was checked against its CV (nothing to check for a computed head), passed,
    // and kept the run's seed.
    expect(s.exportCheck === null).toBe(winner.kind === 'transfer' && computedHead(winner.head));
    expect(s.exportCheck?.refit).toBeUndefined();
    expect(s.exportCheck?.fitSeed ?? 1).toBe(1);
    // The export is the winner trained on the run's split: the same model its test figure measured.
    expect(r.accuracy).toBe(winner.testAccuracy);
    expect(r.selected).toBe(winner.kind === 'scratch' ? 'baseline' : 'transfer');
    expect(r.parity.maxAbsDiff).toBeLessThanOrEqual(1e-4);

    const metrics = JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8'));
    expect(metrics.selection.winner.id).toBe(winner.id);
    expect(metrics.selection.search.rows).toHaveLength(12);
    // Hindsight's test cross-entropy is the exported model's (the same fit as its test accuracy);
    // every configuration's is also given on the scale its held-out images fitted (the pick's).
    expect(winner.testLoss).toBeCloseTo(metrics[winner.kind === 'scratch' ? 'baseline' : 'transfer'].loss, 5);
    for (const c of s.rows) {
      expect(c.testLoss).toBeGreaterThan(0);
      expect(c.testScaledLoss).toBeGreaterThan(0);
      expect(Number.isFinite(c.testScaledLoss)).toBe(true);
    }
    const report = fs.readFileSync(path.join(out, 'report.html'), 'utf8');
    expect(report).toMatch(/Configuration search \(--select auto\)/);
    expect(report).toContain(`${winner.id.replace(/&/g, '&#38;')} (exported)`);
    const recipe = TrainingRecipeSchema.parse(
      JSON.parse(fs.readFileSync(path.join(out, 'training.json'), 'utf8')),
    );
    expect(recipe.options.select).toBe('auto');
    expect(recipe.options.chosen?.id).toBe(winner.id);

    // Retraining runs the recipe's options (training/jobs/retrain.ts spreads them): no new search,
    // the same configuration, the same model.
    const again = await runTraining({
      ...recipe.options,
      backbone,
      data: DATA,
      testData: TEST,
      name: 'auto-digits',
      out: tmpDir('auto-again'),
    });
    expect(again.selection!.search).toBeNull();
    expect(again.selection!.winner.id).toBe(winner.id);
    expect(again.accuracy).toBe(r.accuracy);

    // A logistic head exported (whatever the pick was): the search's hindsight fit of that
    // configuration and the export are one computation, so the test accuracy is the same number.
    const logistic = s.rows.find((c) => c.id === 'pool(block3_pool) · logistic')!;
    const lines: string[] = [];
    const exported = await runTraining({
      ...recipe.options,
      chosen: { ...logistic, head: 'logistic' },
      backbone,
      data: DATA,
      testData: TEST,
      name: 'auto-logistic',
      out: tmpDir('auto-logistic'),
      progress: { log: (m) => lines.push(m), task: () => ({ tick() {}, done() {} }) },
    });
    expect(exported.selection!.winner.id).toBe(logistic.id);
    expect(lines.some((l) => l.startsWith('head: logistic regression'))).toBe(true);
    expect(exported.accuracy).toBe(logistic.testAccuracy);
    expect(exported.parity.maxAbsDiff).toBeLessThanOrEqual(1e-4);

    // `--head logistic` without a search: the same fit on the backbone's feature layer, recorded in
    // the recipe so that retraining fits it again.
    const plainOut = tmpDir('plain-logistic');
    const plain = await runTraining({
      ...recipe.options,
      backbone,
      data: DATA,
      testData: TEST,
      name: 'plain-logistic',
      select: 'transfer',
      chosen: undefined,
      head: 'logistic',
      out: plainOut,
    });
    expect(plain.selection).toBeUndefined();
    expect(plain.accuracy).toBe(s.rows.find((c) => c.id === 'features · logistic')!.testAccuracy);
    const plainRecipe = TrainingRecipeSchema.parse(
      JSON.parse(fs.readFileSync(path.join(plainOut, 'training.json'), 'utf8')),
    );
    expect(plainRecipe.options.head.logistic).toBe(true);
    const refit = await runTraining({
      ...plainRecipe.options,
      backbone,
      data: DATA,
      testData: TEST,
      name: 'plain-logistic',
      out: tmpDir('plain-logistic-again'),
    });
    expect(refit.accuracy).toBe(plain.accuracy);

    // An SGD-trained configuration exported: a first fit on the training split chooses each
    // phase's epochs by early stopping, then the model is trained again from the same initial
    // weights on all 20 labelled images for twice those epochs with the learning rate decayed —
    // as the search's hindsight fit does, so the test accuracy is again the same number.
    for (const id of ['fine-tune 1 · linear', 'scratch CNN']) {
      const row = s.rows.find((c) => c.id === id)!;
      const sgd = await runTraining({
        ...recipe.options,
        chosen: { ...row, head: row.head },
        backbone,
        data: DATA,
        testData: TEST,
        name: 'auto-sgd',
        out: tmpDir('auto-sgd'),
      });
      expect(sgd.selected).toBe(row.kind === 'scratch' ? 'baseline' : 'transfer');
      expect(sgd.accuracy).toBe(row.testAccuracy);
      expect(sgd.refit?.images).toBe(20);
      const outcome = row.kind === 'scratch' ? sgd.baseline! : sgd.transfer;
      const epochsOf = (phase: string) => outcome.history.filter((e) => e.phase === phase);
      if (row.kind === 'scratch') {
        const first = epochsOf('baseline');
        expect(first.length).toBeGreaterThan(0);
        expect(epochsOf('refit baseline')).toHaveLength(refitEpochs(sgd.refit!.epochs as number));
        // The epoch kept is the first fit's lowest validation loss.
        const kept = first.reduce((a, b) => (b.valLoss! < a.valLoss! ? b : a));
        expect(sgd.refit!.epochs).toBe(kept.epoch);
      } else {
        const epochs = sgd.refit!.epochs as { head: number; fineTune: number };
        expect(epochsOf('refit head')).toHaveLength(refitEpochs(epochs.head));
        expect(epochsOf('refit fine-tune')).toHaveLength(refitEpochs(epochs.fineTune));
        expect(epochs.fineTune).toBeGreaterThan(0);
        const firstFineTune = epochsOf('fine-tune');
        const kept = firstFineTune.reduce((a, b) => (b.valLoss! < a.valLoss! ? b : a));
        expect(epochs.fineTune).toBe(kept.epoch);
      }
      for (const e of [
        ...epochsOf('refit head'),
        ...epochsOf('refit fine-tune'),
        ...epochsOf('refit baseline'),
      ])
        expect(e.valLoss).toBeUndefined();
    }
  }, 1_800_000);

  it("without a test set a refitted export reports its first fit's validation figures and says so", async () => {
    const out = tmpDir('auto-refit-val');
    const r = await runTraining({
      backbone,
      data: DATA,
      name: 'auto-refit-val',
      seed: 1,
      select: 'auto',
      chosen: {
        id: 'fine-tune 1 · linear',
        kind: 'transfer',
        trainable: 1,
        head: 'linear',
        complexity: 101,
      },
      out,
    });
    expect(r.heldOutSet).toBe('validation');
    expect(r.counts).toMatchObject({ train: 15, val: 5, heldOut: 5 });
    expect(r.refit?.images).toBe(20);
    // Scored before the refit: the 5 validation images, which the refit then trained on.
    expect(r.transfer.val.confusion.flat().reduce((a, b) => a + b, 0)).toBe(5);
    expect(r.accuracy).toBe(r.transfer.val.accuracy);
    expect(fs.readFileSync(path.join(out, 'report.html'), 'utf8')).toContain(
      'trained again from the same initial weights on all 20 labelled images',
    );
    expect(JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8')).refit.images).toBe(20);
  }, 900_000);

  it('--head logistic with re-trained backbone layers is a bad request', async () => {
    await expect(
      runTraining({ backbone, data: DATA, name: 'bad', head: 'logistic', trainable: 1, out: tmpDir('bad') }),
    ).rejects.toThrow(/--head logistic is fitted on the frozen features/);
  });

  it('--head logistic beside --baseline scratch keeps the validation split for their comparison', async () => {
    const r = await runTraining({
      backbone,
      data: DATA,
      name: 'logistic-baseline',
      seed: 2,
      head: 'logistic',
      baseline: 'scratch',
      select: 'best',
      out: tmpDir('logistic-baseline'),
    });
    expect(r.heldOutSet).toBe('validation');
    expect(r.counts).toMatchObject({ train: 15, val: 5, heldOut: 5 });
    // Both models are scored on the same 5 validation images.
    for (const o of [r.transfer, r.baseline!]) {
      expect(o.val.confusion.flat().reduce((a, b) => a + b, 0)).toBe(5);
      expect(o.heldOut).toBe(o.val);
    }
  }, 900_000);

  it('a budget smaller than any work: the cheapest configuration completes, the rest are reported skipped', async () => {
    const out = tmpDir('auto-budget');
    const lines: string[] = [];
    const r = await runTraining({
      backbone,
      data: DATA,
      name: 'auto-budget',
      seed: 2,
      select: 'auto',
      searchBudget: 0.001,
      out,
      progress: { log: (m) => lines.push(m), task: () => ({ tick() {}, done() {} }) },
    });
    const s = r.selection!.search!;
    expect(s.winner.id).toBe('features · prototype');
    expect(s.rows[0]!.folds).toHaveLength(4);
    // It got the first shuffle's splits, not the second's: cut by the budget (and still the pick,
    // since nothing was scored in full).
    expect(s.rows.map((c) => c.cut ?? false)).toEqual(s.rows.map((_, i) => i === 0));
    expect(s.skipped).toHaveLength(11);
    for (const line of s.skipped) expect(line).toMatch(/: not started: the 0.001s search budget was spent$/);
    expect(r.plan.trainableConvs).toBe(0);
    // The prototype head is fitted on all 20 labelled images (its validation split too: nothing to
    // stop early), so without a test set its held-out figures are cross-validated over all 20.
    expect(r.counts).toMatchObject({ train: 15, val: 5, test: 0, heldOut: 20 });
    expect(r.heldOutSet).toBe('cross-validation');
    expect(lines).toContain(
      'head: class means (prototype); all 20 labelled images (nothing to stop early: the 5 validation images are fitted too), 5 classes',
    );
    expect(
      lines.some((l) =>
        l.startsWith('cross-validated (4 stratified folds of the 20 labelled images): accuracy'),
      ),
    ).toBe(true);
    expect(r.accuracy).toBe(r.transfer.val.accuracy);
    expect(r.transfer.heldOut.confusion.flat().reduce((a, b) => a + b, 0)).toBe(20);
    expect(fs.readFileSync(path.join(out, 'report.html'), 'utf8')).toContain(
      'held-out set: cross-validation (20 images)',
    );
  }, 900_000);
});
