/**
 * `--select auto`: stratified k-fold cross-validation on the labelled images over the cut point,
 * the head, the fine-tuning depth and the scratch baseline, then the pick (choose.ts): the
 * configuration most probably best by its held-out images' cross-entropy under a bootstrap of the
 * splits.
 *
 * Every configuration is scored as the export trains it where that costs no more than a first fit:
 * computed heads fit every image of a split's training folds; an MLP head and the scratch CNN are
 * refitted on them for the epochs their early-stopped fit on the run's split kept (the export's own
 * first fit), so CV sees what the refit on every labelled image adds; re-trained backbone layers
 * keep their early-stopped first fit on each split (see `foldRows`).
 *
 * The time goes where it decides something: the activations of every candidate layer come from
 * one pass of the backbone; every configuration is scored on the plan's first FIRST_SPLITS splits
 * — heads on cached activations (a second or less per split) first, then re-trained backbone
 * layers and the scratch CNN (seconds to minutes per split), which are stopped as soon as they are
 * clearly worse than the leader split by split (racing, on accuracy); the heads then get the rest
 * of the plan, trained on the worker threads where there are any. Heads are not raced: a split
 * costs them too little to save, and racing judges accuracy on a few held-out images, not the
 * pick's cross-entropy, so it stopped heads the pick would have taken. Every configuration is
 * scored on a prefix of one split plan, so any two can be compared on the splits they share.
 * Training stops at the end of the epoch in which the budget runs out, and the result says what
 * was skipped or stopped. The pick's fit on the run's split is then checked against its CV, and
 * refitted with another seed where it failed (export-check.ts).
 */
import { EdgetuneError } from '../../shared/errors.ts';
import type { Sample } from '../datasets/types.ts';
import { lossAndAccuracy } from '../fit/loop.ts';
import type { TrainBackbone } from '../train/backbone.ts';
import { type HyperOptions, transferHyper } from '../train/hyper.ts';
import { type Progress, silentProgress } from '../train/progress.ts';
import type { Device } from '../features/session.ts';
import { earlierCutPoints } from './candidates.ts';
import { choosePaired, clearlyWorse, mean, sd } from './choose.ts';
import {
  BudgetSpent,
  type Fitted,
  type Rows,
  type TransferInput,
  trainScratch,
  trainTransfer,
} from './fit.ts';
import { checkExportFit, type FitCheck } from './export-check.ts';
import { foldCount, splitPlan } from './folds.ts';
import { candidateInputs, sharedKeras } from './inputs.ts';
import { chooseByComparedLoss, pickScale, scaledLossAt } from './scaled-loss.ts';
import { type KnownScores, knownScoresFromEnv, type SplitScore } from './replay.ts';
import { buildSpace, type Configuration, computedHead, HEAD_KINDS } from './space.ts';
import { selectWorkers, SplitPool, type SplitSource } from './split-pool.ts';

/** Default `--search-budget`: enough for every configuration on a small task on 2 cores. */
export const DEFAULT_SEARCH_BUDGET_SECONDS = 600;
/** Fine-tuning depths tried where the backbone can be re-trained. */
export const SEARCH_DEPTHS = [1, 2];
/**
 * Folds: up to 10 (k = the smallest class below that). The export trains on the run's training
 * split (1 − valFraction of the labelled images); a fold trains on that share of the other k − 1
 * folds. With 10 labels per class and k = 5 that is 6 images per class instead of 8, and fewer
 * optimiser steps per epoch (batches of 32: 1 instead of 2 on 5 classes, 2 instead of 3 on 10) —
 * which biased CV against the configurations that learn most from more data, the scratch CNN above
 * all. k = 10 trains on 7 per class, with the export's number of steps per epoch.
 */
export const MAX_FOLDS = 10;
/**
 * Shuffles of the labelled images the heads on cached activations may be scored on when k is
 * small (a class with fewer than 10 images): few folds hold out many images each, and a second
 * shuffle averages over which ones. With k = MAX_FOLDS one shuffle already holds out every image
 * once, from a training fold of 9/10 of the labelled images.
 */
export const HEAD_REPEATS = 2;
/**
 * Splits every configuration is scored on first; re-trained layers and the scratch CNN (seconds
 * to minutes per split) get no more.
 */
export const FIRST_SPLITS = 5;
/** Fewest splits a configuration needs to compete. */
export const MIN_SPLITS = 2;
/**
 * Fewest splits before racing stops a re-trained-layer or scratch configuration (seconds to
 * minutes per split) as clearly worse than the leader: with two paired differences,
 * "mean + 2 SE < 0" holds only when both splits are worse, by more than they differ from each other.
 */
export const EXPENSIVE_RACE_MIN_SPLITS = 2;

export interface SearchOptions {
  backbone: TrainBackbone;
  /** The run's training split then its validation split: together, all labelled images. */
  train: readonly Sample[];
  val: readonly Sample[];
  classes: number;
  /** With a test set every configuration is also trained on the run's split and tested. */
  test?: { samples: readonly Sample[]; y: Int32Array };
  /** --feature-layer, when given: the layer the earlier candidates are counted back from. */
  featureLayer?: string;
  seed: number;
  valFraction: number;
  hyper: HyperOptions;
  budgetSeconds: number;
  scratch: boolean;
  /** Side and channels of the scratch CNN's input. */
  scratchShape: { side: number; channels: 1 | 3 };
  cacheDir: string;
  device?: Device;
  progress?: Progress;
  /**
   * Worker threads for the re-trained layers' and the scratch CNN's splits (default: the
   * EDGETUNE_SELECT_WORKERS env, else min(2, available cores); 1 trains them on this thread).
   */
  workers?: number;
  /**
   * Splits and hindsight figures already measured by a recorded search of the same data and seed
   * (replay.ts; default: the EDGETUNE_SELECT_REPLAY file): taken instead of trained.
   */
  known?: KnownScores;
}

export interface SelectionRow extends Configuration {
  /** Accuracy on each split of the plan it was scored on (a prefix of the plan). */
  folds: number[];
  /** Mean cross-entropy of the held-out images on each of those splits (natural log). */
  heldLoss: number[];
  /** Mean Brier score (squared error of the class probabilities) of those images, per split. */
  heldBrier: number[];
  /**
   * The held-out images' natural-log class probabilities on each split, image-major in the order
   * of `Selection.heldLabels` (empty for a split taken from a recording).
   */
  heldLogProbs: number[][];
  mean: number | null;
  sd: number | null;
  /** Paired estimate of its mean accuracy over all splits (racing's leader is the best one). */
  estimate: number | null;
  /**
   * Paired estimate of its mean temperature-scaled held-out cross-entropy over all splits (what
   * the pick compares; scaled-loss.ts).
   */
  lossEstimate?: number;
  /** Share of bootstrap draws of the splits in which that cross-entropy is lowest (choose.ts). */
  probabilityBest?: number;
  /** Seconds of cross-validation (the activations' pass is counted once, in `activationSeconds`). */
  seconds: number;
  /** Seconds of its hindsight test-set fit (not part of the search time). */
  testSeconds?: number;
  /**
   * Trained as the export is (on every labelled image: an SGD-trained one refitted after a first
   * fit with early stopping on the run's validation split, fit/phases.ts), accuracy on
   * --test-data (hindsight, not used to pick).
   */
  testAccuracy: number | null;
  /**
   * The same fit's mean cross-entropy on --test-data (hindsight; the export's `loss` in
   * metrics.json when it is the pick), and that with its log-probabilities scaled by the factor
   * fitted on its own held-out images: the figure its `lossEstimate` estimates (scaled-loss.ts),
   * to check CV against. Null where the test accuracy came from a recording; the scaled one also
   * where the held-out log-probabilities did.
   */
  testLoss?: number | null;
  testScaledLoss?: number | null;
  /** Why it has no CV score. */
  skipped: string | null;
  /** Scored, but on fewer splits than planned: racing stopped it, or the budget ran out (choose.ts). */
  cut?: boolean;
}

export interface Selection {
  k: number;
  /** Shuffles of the labelled images (k splits each) in the plan. */
  repeats: number;
  rule: 'probable-best-held-out-loss';
  /**
   * Whether the pick compared temperature-scaled held-out cross-entropies (scaled-loss.ts): false
   * only in a search replayed from a recording without the held-out log-probabilities.
   */
  scaledLoss: boolean;
  rows: SelectionRow[];
  /** The labels of each split's held-out images, in the plan's order. */
  heldLabels: number[][];
  winner: Configuration;
  /** The configuration with the best paired estimate. */
  best: string;
  /** The configuration scored on the most splits, against which the others are paired. */
  reference: string;
  budgetSeconds: number;
  seconds: number;
  /** Seconds of the one backbone pass for every candidate's activations (part of `seconds`). */
  activationSeconds: number;
  /**
   * The pick's fit on the run's split checked against its CV (export-check.ts); null for a
   * prototype head, which has nothing random to fit. Its `fitSeed` is the seed the export trains with.
   */
  exportCheck: FitCheck | null;
  /** Seconds of that check (one or two fits of the pick; not part of `seconds`). */
  exportCheckSeconds: number;
  /** One line per configuration that was not (fully) cross-validated. */
  skipped: string[];
}

function accuracy(probs: Float32Array, y: Int32Array, rows: readonly number[]): number {
  return lossAndAccuracy(
    probs,
    Int32Array.from(rows, (i) => y[i]!),
  ).acc;
}

/**
 * The test images' mean cross-entropy with `probs` scaled as the pick scales the configuration's
 * held-out log-probabilities (one factor fitted on all its splits); null without those.
 */
function testLossOnPickScale(
  row: SelectionRow,
  probs: Float32Array,
  y: Int32Array,
  testRows: readonly number[],
  heldLabels: readonly (readonly number[])[],
): number | null {
  if (row.heldLogProbs.length === 0 || row.heldLogProbs.some((lp) => lp.length === 0)) return null;
  const scale = pickScale(row.heldLogProbs, heldLabels);
  const logProbs = Array.from(probs, (p) => Math.log(Math.max(p, 1e-7)));
  return scaledLossAt(
    logProbs,
    Array.from(testRows, (i) => y[i]!),
    scale,
  );
}

/** A split's scores: the held-out images' accuracy, mean cross-entropy and mean Brier score. */
function scoreHeld(probs: Float32Array, y: Int32Array, rows: readonly number[]): SplitScore {
  const labels = Int32Array.from(rows, (i) => y[i]!);
  const r = lossAndAccuracy(probs, labels);
  const classes = probs.length / labels.length;
  let brier = 0;
  for (let i = 0; i < labels.length; i++)
    for (let c = 0; c < classes; c++) brier += (probs[i * classes + c]! - (c === labels[i] ? 1 : 0)) ** 2;
  // Floored as lossAndAccuracy floors a probability before its log.
  const logProbs = Array.from(probs, (p) => Math.log(Math.max(p, 1e-7)));
  return { accuracy: r.acc, loss: r.loss, brier: brier / labels.length, logProbs };
}

export async function searchConfigurations(o: SearchOptions): Promise<Selection> {
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  const progress = o.progress ?? silentProgress;
  const known = o.known ?? knownScoresFromEnv();
  const labelled = [...o.train, ...o.val];
  const y = Int32Array.from(labelled, (s) => s.label);
  const n = labelled.length;
  const k = foldCount(y, o.classes, MAX_FOLDS);
  const repeats = k >= MAX_FOLDS ? 1 : HEAD_REPEATS;
  const plan = splitPlan(y, k, repeats, o.seed, o.valFraction);
  const all = [...labelled, ...(o.test?.samples ?? [])];
  const yAll = Int32Array.from([...y, ...(o.test?.y ?? [])]);
  const testRows = o.test ? Array.from({ length: o.test.samples.length }, (_, i) => n + i) : [];
  const runSplit: Rows = {
    train: Array.from({ length: o.train.length }, (_, i) => i),
    val: Array.from({ length: o.val.length }, (_, i) => o.train.length + i),
    predict: testRows,
  };

  const shared = sharedKeras(o.backbone);
  let pool: SplitPool | undefined;
  const ctx = { backbone: shared.backbone, samples: all, cacheDir: o.cacheDir, device: o.device, progress };
  try {
    // A Keras layer name recorded in the metadata names the same tensor (as in planFreeze).
    const given = o.featureLayer ?? o.backbone.metadata.features[0]?.name;
    const feature = o.backbone.metadata.features.find((f) => f.layer === given)?.name ?? given;
    if (!feature) {
      throw new EdgetuneError(
        'bad_request',
        'the backbone does not name a feature tensor in its metadata: pass --feature-layer <tensor>',
      );
    }
    const layers = [
      { tensor: o.featureLayer, label: feature },
      ...earlierCutPoints(o.backbone.model, feature).map((t) => ({ tensor: t, label: `pool(${t})` })),
    ];
    const depths = o.backbone.loadKeras ? SEARCH_DEPTHS : [];
    const space = buildSpace({ layers, depths, scratch: o.scratch });
    progress.log(
      `--select auto: ${space.length} configurations, stratified ${k}-fold CV (up to ${repeats} shuffles) on ${n} labelled images, ` +
        `budget ${o.budgetSeconds}s`,
    );

    // Every candidate's activations in one pass of the backbone (or from the feature cache).
    const t0 = performance.now();
    const inputs = await candidateInputs(
      ctx,
      layers.map((l) => l.tensor ?? feature),
      o.featureLayer,
      depths,
    );
    const activationSeconds = Number(((performance.now() - t0) / 1000).toFixed(3));
    const inputFor = (c: Configuration): TransferInput | null =>
      inputs.get(c.trainable > 0 ? `depth:${c.trainable}` : `layer:${c.featureLayer ?? feature}`) ?? null;

    const cheap = (c: Configuration) => c.kind === 'transfer' && c.trainable === 0;
    const rows: SelectionRow[] = space.map((c) => ({
      ...c,
      folds: [],
      heldLoss: [],
      heldBrier: [],
      heldLogProbs: [],
      mean: null,
      sd: null,
      estimate: null,
      seconds: 0,
      testAccuracy: null,
      skipped: null,
    }));
    const notes: string[] = [];
    const stopped = new Set<SelectionRow>();
    const leader = (): SelectionRow | undefined => {
      const c = choosePaired(
        rows.filter((r) => r.folds.length >= MIN_SPLITS),
        MIN_SPLITS,
      );
      return c ? rows.find((r) => r.id === c.best) : undefined;
    };

    const deadlineOf = (row: SelectionRow, from: number) =>
      rows.indexOf(row) === 0 && from === 0 ? undefined : started + o.budgetSeconds * 1000;
    const splitKey = (row: SelectionRow, i: number) => `${rows.indexOf(row)}:${i}`;
    const sourceOf = (row: SelectionRow): SplitSource | null => {
      const hyper = transferHyper(o.hyper, row.trainable);
      if (row.kind === 'scratch') {
        return {
          kind: 'scratch',
          images: all.map((s) => s.image),
          shape: { ...o.scratchShape, batchSize: hyper.batchSize },
        };
      }
      const input = inputFor(row);
      return input && { kind: 'transfer', config: row, input, hyper };
    };

    /** `row` trained on `r` (as `Rows` says), predicting its `predict` rows, on this thread. */
    const fitHere = (row: SelectionRow, r: Rows, seed: number, deadline?: number): Promise<Fitted> => {
      const hyper = transferHyper(o.hyper, row.trainable);
      return row.kind === 'scratch'
        ? trainScratch(
            all.map((s) => s.image),
            yAll,
            o.classes,
            r,
            seed,
            { ...o.scratchShape, batchSize: hyper.batchSize },
            deadline,
          )
        : trainTransfer(row, inputFor(row)!, yAll, o.classes, r, seed, hyper, deadline);
    };
    const pooledRow = (row: SelectionRow) => pool !== undefined && !cheap(row);
    /**
     * The early-stopped fit of an SGD-trained configuration on the run's split, predicting its
     * validation images: the export's first fit (same rows, same seed), whose kept epochs every
     * CV split of it refits for, and whose validation images the export check reads. Queued on
     * the pool ahead of the splits that wait for it.
     */
    const runFits = new Map<SelectionRow, Promise<Fitted>>();
    const runRows: Rows = { ...runSplit, predict: runSplit.val };
    const queueRunFit = (row: SelectionRow) => {
      if (pooledRow(row)) pool!.ahead(row, `${rows.indexOf(row)}:run`, sourceOf(row)!, runRows, o.seed);
    };
    const runFit = (row: SelectionRow): Promise<Fitted> => {
      let fit = runFits.get(row);
      if (!fit) {
        if (pooledRow(row)) {
          queueRunFit(row);
          fit = pool!.take(`${rows.indexOf(row)}:run`).then((r) => {
            row.seconds += r.seconds;
            return r;
          });
        } else {
          fit = fitHere(row, runRows, o.seed, started + o.budgetSeconds * 1000);
        }
        // Read by the splits that wait for it; one dropped with its configuration is not.
        fit.catch(() => {});
        runFits.set(row, fit);
      }
      return fit;
    };
    // Without validation images the export has no first fit to refit after (train/stages/inputs.ts).
    const refitsInFolds = (row: SelectionRow) =>
      o.val.length > 0 && (row.kind === 'scratch' || (row.trainable === 0 && !computedHead(row.head)));
    /**
     * A split's rows for `row`, trained as the export is trained where that costs no more than
     * the first fit did: a computed head on every row of the split's training folds; an MLP head
     * or the scratch CNN refitted on them for twice the epochs its run-split fit kept, the rate
     * decayed (fit/phases.ts). Re-trained backbone layers keep the early-stopped first fit: their
     * refit would cost 2–3× the first fit on every split (the search on the auto_select_seconds
     * task went from 44 s to 117 s), and it gains them least (docs/select-auto.md).
     */
    const foldRows = async (row: SelectionRow, split: (typeof plan)[number]): Promise<Rows> => {
      if (row.kind === 'transfer' && computedHead(row.head))
        return { train: [...split.train, ...split.val], val: [], predict: split.held };
      if (!refitsInFolds(row)) return { train: split.train, val: split.val, predict: split.held };
      const { epochs } = await runFit(row);
      return { train: split.train, val: split.val, predict: split.held, epochs: epochs! };
    };

    /** Heads whose splits after the first ones go to the pool (step 3, below). */
    const pooledHeads = new Set<SelectionRow>();
    /** Whether `row`'s splits are trained on the pool: the expensive ones', and those heads'. */
    const onPool = (row: SelectionRow) => pool !== undefined && (!cheap(row) || pooledHeads.has(row));
    /**
     * Scores `row` on splits [from, to) of the plan, racing the leader when asked. False when the
     * budget ran out (the row keeps the splits it finished).
     */
    const score = async (row: SelectionRow, from: number, to: number, race: boolean): Promise<boolean> => {
      const first = rows.indexOf(row) === 0 && from === 0;
      if (!first && elapsed() >= o.budgetSeconds) {
        if (row.folds.length === 0)
          row.skipped = `not started: the ${o.budgetSeconds}s search budget was spent`;
        else row.cut = true;
        if (onPool(row)) pool!.drop(row);
        return false;
      }
      const t0 = performance.now();
      // Splits trained on the pool: their own time, not the wait for them (they ran alongside).
      const pooled = onPool(row);
      let poolSeconds = 0;
      let finished = false;
      try {
        const input = row.kind === 'transfer' ? inputFor(row) : null;
        if (row.kind === 'transfer' && !input) {
          row.skipped = `the backbone has no cut point with ${row.trainable} conv layers to re-train`;
          stopped.add(row);
          return true;
        }
        // The first (cheapest) configuration always finishes its first k splits, so there is
        // always a pick; the rest stop at the end of the epoch during which the budget runs out.
        const deadline = deadlineOf(row, from);
        for (let i = from; i < to; i++) {
          const split = plan[i]!;
          let scores = known?.split(row.id, i);
          if (scores === undefined && pooled) {
            pool!.ahead(row, splitKey(row, i), sourceOf(row)!, () => foldRows(row, split), o.seed);
            const r = await pool!.take(splitKey(row, i));
            poolSeconds += r.seconds;
            if (!('probs' in r)) throw new BudgetSpent('search budget spent');
            scores = scoreHeld(r.probs, y, split.held);
          } else if (scores === undefined) {
            const fitted = await fitHere(row, await foldRows(row, split), o.seed, deadline);
            scores = scoreHeld(fitted.probs, y, split.held);
          }
          row.folds.push(scores.accuracy);
          row.heldLoss.push(scores.loss);
          row.heldBrier.push(scores.brier);
          row.heldLogProbs.push(scores.logProbs ?? []);
          const lead = race ? leader() : undefined;
          if (lead && lead !== row && clearlyWorse(row.folds, lead.folds, EXPENSIVE_RACE_MIN_SPLITS)) {
            stopped.add(row);
            row.cut = true;
            notes.push(
              `${row.id}: stopped after ${row.folds.length} splits, clearly worse than ${lead.id} split by split`,
            );
            break;
          }
        }
        finished = true;
        return true;
      } catch (e) {
        if (!(e instanceof BudgetSpent)) throw e;
        const n = row.folds.length;
        row.cut = n > 0;
        if (n < MIN_SPLITS) {
          row.skipped = `stopped after ${n} splits: the ${o.budgetSeconds}s search budget was spent`;
        } else {
          notes.push(`${row.id}: scored on ${n} splits when the ${o.budgetSeconds}s search budget was spent`);
        }
        return false;
      } finally {
        row.seconds += pooled ? poolSeconds : (performance.now() - t0) / 1000;
        // What racing or the budget left unasked is not trained (a row scored split by split
        // keeps its queued splits between calls).
        if (pooled && (!finished || stopped.has(row))) pool!.drop(row);
      }
    };

    const log = (row: SelectionRow) =>
      progress.log(
        `  ${row.id}: ${row.folds.length === 0 ? row.skipped : `CV ${(mean(row.folds) * 100).toFixed(1)}% on ${row.folds.length} splits`}` +
          ` (${row.seconds.toFixed(1)}s)`,
      );
    // Every configuration is first scored on the same leading splits of the plan (half of the
    // 10-fold plan's first shuffle, all of a smaller k's), so all of them can be compared there.
    const firstSplits = Math.min(k, FIRST_SPLITS);
    // The re-trained layers' and scratch CNN's first splits go to worker threads, queued in the
    // order the search will ask for them (in rounds: split 1 of each, then split 2, …); one starts
    // while this thread trains the heads.
    const expensive = rows.filter((r) => !cheap(r) && sourceOf(r) !== null);
    const workers = selectWorkers(o.workers);
    if (workers > 1 && expensive.length > 0) {
      pool = new SplitPool(workers, yAll, o.classes, started + o.budgetSeconds * 1000);
      pool.setSlots(workers - 1);
      const unknown = (row: SelectionRow, i: number) => known?.split(row.id, i) === undefined;
      for (const row of expensive.filter((r) => unknown(r, 0) && refitsInFolds(r))) queueRunFit(row);
      for (let i = 0; i < firstSplits; i++) {
        for (const row of expensive.filter((r) => unknown(r, i))) {
          const split = plan[i]!;
          pool.ahead(row, splitKey(row, i), sourceOf(row)!, () => foldRows(row, split), o.seed);
        }
      }
    }
    // 1. Heads over cached activations, the cheapest head kind first on every layer (prototypes
    //    cost nothing to fit); not raced.
    const headOrder = rows
      .filter((r) => cheap(r))
      .sort(
        (a, b) =>
          HEAD_KINDS.indexOf(a.head) - HEAD_KINDS.indexOf(b.head) || rows.indexOf(a) - rows.indexOf(b),
      );
    for (const row of headOrder) {
      await score(row, 0, firstSplits, false);
      log(row);
    }
    // 2. Re-trained layers and the scratch CNN in rounds — split 1 of each (cheapest first), then
    //    split 2 of each, … — racing the leader, so whichever of them leads stops the others after
    //    two splits, not only one that comes earlier in the space (replayed on the recorded
    //    searches by bench/select/race-order.ts: the same picks, fewer splits). None runs when a
    //    head already scored 100% on every split: on the splits they would be scored on, they could
    //    at best tie it.
    pool?.setSlots(pool.size);
    // The heads' splits of step 3 go to the pool now, queued behind every split step 2 will ask
    // for: the workers train them whenever racing leaves a slot free (a configuration waiting for
    // its running split's answer), and both workers train them after step 2, where the main
    // thread alone trained them with the workers idle (auto_select_seconds: 50.5–51.9 s before,
    // 44.0–45.0 s after, the same splits and pick, on a 2-core AMD EPYC). Their answers are read
    // only in step 3, so racing in step 2 still sees every head on the first splits alone, and a
    // split is the same computation on either thread (pool.test.ts).
    for (const row of pool ? rows.filter((r) => cheap(r) && r.folds.length === firstSplits) : []) {
      const source = sourceOf(row);
      if (!source) continue;
      pooledHeads.add(row);
      for (let i = firstSplits; i < plan.length; i++) {
        if (known?.split(row.id, i) !== undefined) continue;
        const split = plan[i]!;
        pool!.ahead(row, splitKey(row, i), source, () => foldRows(row, split), o.seed);
      }
    }
    const retrained = rows.filter((r) => !cheap(r));
    const perfect = leader();
    if (perfect?.folds.every((a) => a === 1)) {
      for (const row of retrained) {
        row.skipped = `not run: ${perfect.id} scored 100% on every split, which it could at best tie`;
        stopped.add(row);
        pool?.drop(row);
      }
    } else {
      const ended = new Set<SelectionRow>();
      for (let i = 0; i < firstSplits; i++) {
        for (const row of retrained) {
          if (ended.has(row)) continue;
          const going = await score(row, i, i + 1, true);
          if (!going || stopped.has(row) || row.folds.length <= i) ended.add(row);
        }
      }
    }
    for (const row of retrained) log(row);
    // 3. The rest of the plan for the heads, while the budget lasts: they are what the noise of a
    //    1–2-image fold confuses most, and each split costs them a second or less (on the pool's
    //    workers, queued before step 2).
    for (let i = firstSplits; i < plan.length; i = i < k ? k : i + k) {
      const next = i < k ? k : i + k;
      for (const row of rows.filter((r) => cheap(r) && !stopped.has(r) && r.folds.length === i)) {
        await score(row, i, next, false);
      }
    }
    await pool?.close();
    pool = undefined;
    for (const row of rows) {
      row.seconds = Number(row.seconds.toFixed(3));
      if (row.folds.length === 0) continue;
      row.mean = mean(row.folds);
      row.sd = sd(row.folds);
    }

    let exportCheckSeconds = 0;
    const heldLabels = plan.map((p) => p.held.map((i) => y[i]!));
    const competing = rows.filter((r) => r.folds.length >= MIN_SPLITS);
    const choice = choosePaired(competing, MIN_SPLITS);
    if (!choice) {
      throw new EdgetuneError(
        'bad_request',
        `--select auto: no configuration finished ${MIN_SPLITS} cross-validation splits within the ${o.budgetSeconds}s search budget; raise --search-budget`,
      );
    }
    for (const e of choice.estimates) rows.find((r) => r.id === e.id)!.estimate = e.estimate;
    const pick = chooseByComparedLoss(competing, heldLabels, MIN_SPLITS)!;
    for (const e of pick.estimates) {
      const row = rows.find((r) => r.id === e.id)!;
      row.lossEstimate = e.loss;
      row.probabilityBest = e.probabilityBest;
    }
    const seconds = Number(elapsed().toFixed(3));

    /**
     * `row` trained on the run's split with `seed`, predicting `predict`: with `refitAll`, as the
     * export fits it (on every labelled image); without, the early-stopped fit on the training
     * split alone, whose validation images the export check reads.
     */
    const fitRunSplit = async (row: SelectionRow, seed: number, predict: number[], refitAll: boolean) => {
      // A computed head's export fits the validation images too (train/stages/fit.ts).
      if (row.kind === 'transfer' && computedHead(row.head))
        return (await fitHere(row, { train: [...runSplit.train, ...runSplit.val], val: [], predict }, seed))
          .probs;
      // The run-split fit the search made with this seed (its epochs are the export's).
      const first = seed === o.seed ? await runFits.get(row)?.catch(() => undefined) : undefined;
      if (first && !refitAll && predict === runSplit.val) return first.probs;
      const epochs = refitAll ? first?.epochs : undefined;
      return (
        await fitHere(
          row,
          epochs ? { ...runSplit, predict, epochs } : { ...runSplit, predict, refitAll },
          seed,
        )
      ).probs;
    };
    // The export fit's check (export-check.ts): its validation images against its CV ones.
    // Nothing to check without a validation split, nor for a computed head (nothing random to fit).
    const picked = rows.find((r) => r.id === pick.winner)!;
    let exportCheck: FitCheck | null = null;
    if (o.val.length > 0 && (!computedHead(picked.head) || picked.kind === 'scratch')) {
      const t0 = performance.now();
      const held = plan.slice(0, picked.folds.length).map((p) => p.held.length);
      exportCheck = await checkExportFit(
        async (seed) =>
          Math.round(
            accuracy(await fitRunSplit(picked, seed, runSplit.val, false), yAll, runSplit.val) * o.val.length,
          ),
        o.seed,
        o.val.length,
        {
          correct: picked.folds.reduce((a, acc, i) => a + Math.round(acc * held[i]!), 0),
          images: held.reduce((a, b) => a + b, 0),
        },
      );
      exportCheckSeconds = Number(((performance.now() - t0) / 1000).toFixed(3));
      if (exportCheck.refit) {
        progress.log(
          `  ${picked.id}: the export fit got ${exportCheck.val.correct} of ${exportCheck.val.images} validation images right against ${exportCheck.cv.correct} of ${exportCheck.cv.images} in CV (p = ${exportCheck.pValue.toFixed(3)}); refitted with seed ${exportCheck.refit.seed}: ${exportCheck.refit.val.correct} right, exporting seed ${exportCheck.fitSeed}'s fit`,
        );
      }
    }

    // Hindsight, only with --test-data (it plays no part in the pick, and its time is not the
    // search's): every scored configuration trained on the run's split and tested.
    if (o.test) {
      for (const row of rows.filter((r) => r.folds.length > 0)) {
        const t0 = performance.now();
        const recorded = known?.test(row.id);
        if (recorded !== undefined) {
          row.testAccuracy = recorded;
          row.testLoss = null;
          row.testScaledLoss = null;
        } else {
          const probs = await fitRunSplit(row, o.seed, testRows, o.val.length > 0);
          const test = lossAndAccuracy(
            probs,
            Int32Array.from(testRows, (i) => yAll[i]!),
          );
          row.testAccuracy = test.acc;
          row.testLoss = test.loss;
          row.testScaledLoss = testLossOnPickScale(row, probs, yAll, testRows, heldLabels);
        }
        row.testSeconds = Number(((performance.now() - t0) / 1000).toFixed(3));
        progress.log(
          `  ${row.id}: estimate ${row.estimate === null ? '—' : (row.estimate * 100).toFixed(1)}%, test ${(row.testAccuracy * 100).toFixed(1)}%`,
        );
      }
    }
    const winner = picked;
    return {
      k,
      repeats,
      rule: 'probable-best-held-out-loss',
      rows,
      heldLabels,
      scaledLoss: pick.scaled,
      winner: {
        id: winner.id,
        kind: winner.kind,
        featureLayer: winner.featureLayer,
        trainable: winner.trainable,
        head: winner.head,
        complexity: winner.complexity,
      },
      best: choice.best,
      reference: choice.reference,
      budgetSeconds: o.budgetSeconds,
      seconds,
      activationSeconds,
      exportCheck,
      exportCheckSeconds,
      skipped: [...rows.filter((r) => r.skipped).map((r) => `${r.id}: ${r.skipped}`), ...notes],
    };
  } finally {
    await pool?.close();
    shared.dispose();
  }
}
