/**
 * `--select auto`: stratified k-fold cross-validation on the labelled images over the cut point,
 * the head, the fine-tuning depth and the scratch baseline, then the one-standard-error pick.
 *
 * Cheap by construction: activations of every candidate layer are computed once per image and
 * cached; heads on them train in milliseconds; the expensive configurations (re-trained backbone
 * layers, the scratch CNN) come last and run only while the budget lasts — training stops at the
 * end of the epoch in which the budget runs out, and the result says what was skipped.
 */
import { EdgetuneError } from '../../shared/errors.ts';
import type { Sample } from '../datasets/types.ts';
import { lossAndAccuracy } from '../fit/loop.ts';
import type { TrainBackbone } from '../train/backbone.ts';
import { type HyperOptions, transferHyper } from '../train/hyper.ts';
import { type Progress, silentProgress } from '../train/progress.ts';
import type { Device } from '../features/session.ts';
import { earlierCutPoints } from './candidates.ts';
import { chooseOneStandardError, mean, sd } from './choose.ts';
import { BudgetSpent, fitScratch, fitTransfer, type Rows, type TransferInput } from './fit.ts';
import { foldCount, innerSplit, stratifiedFolds } from './folds.ts';
import { depthInput, layerInput, sharedKeras } from './inputs.ts';
import { buildSpace, type Configuration } from './space.ts';

/** Default `--search-budget`: enough for every configuration on a small task on 2 cores. */
export const DEFAULT_SEARCH_BUDGET_SECONDS = 600;
/** Fine-tuning depths tried where the backbone can be re-trained. */
export const SEARCH_DEPTHS = [1, 2];

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
}

export interface SelectionRow extends Configuration {
  /** Accuracy on each held-out fold (fewer than k when the configuration was stopped). */
  folds: number[];
  mean: number | null;
  sd: number | null;
  seconds: number;
  /** Trained on the run's training split, accuracy on --test-data (hindsight, not used to pick). */
  testAccuracy: number | null;
  /** Why it has no CV score. */
  skipped: string | null;
}

export interface Selection {
  k: number;
  rule: 'one-standard-error';
  rows: SelectionRow[];
  winner: Configuration;
  /** The configuration with the best mean CV accuracy. */
  best: string;
  /** Best mean minus its standard error: the bar the winner cleared. */
  threshold: number;
  budgetSeconds: number;
  seconds: number;
  /** One line per configuration that was not (fully) cross-validated. */
  skipped: string[];
}

function accuracy(probs: Float32Array, y: Int32Array, rows: readonly number[]): number {
  return lossAndAccuracy(
    probs,
    Int32Array.from(rows, (r) => y[r]!),
  ).acc;
}

export async function searchConfigurations(o: SearchOptions): Promise<Selection> {
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  const progress = o.progress ?? silentProgress;
  const labelled = [...o.train, ...o.val];
  const y = Int32Array.from(labelled, (s) => s.label);
  const n = labelled.length;
  const k = foldCount(y, o.classes);
  const folds = stratifiedFolds(y, k, o.seed);
  const all = [...labelled, ...(o.test?.samples ?? [])];
  const yAll = Int32Array.from([...y, ...(o.test?.y ?? [])]);
  const testRows = o.test ? Array.from({ length: o.test.samples.length }, (_, i) => n + i) : [];
  const runSplit: Rows = {
    train: Array.from({ length: o.train.length }, (_, i) => i),
    val: Array.from({ length: o.val.length }, (_, i) => o.train.length + i),
    predict: testRows,
  };

  const shared = sharedKeras(o.backbone);
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
      `--select auto: ${space.length} configurations, stratified ${k}-fold CV on ${n} labelled images, ` +
        `budget ${o.budgetSeconds}s`,
    );

    const inputs = new Map<string, TransferInput | null>();
    const inputFor = async (c: Configuration): Promise<TransferInput | null> => {
      const key = c.trainable > 0 ? `depth:${c.trainable}` : `layer:${c.featureLayer ?? feature}`;
      if (!inputs.has(key)) {
        inputs.set(
          key,
          c.trainable > 0
            ? await depthInput(ctx, o.featureLayer, c.trainable)
            : await layerInput(ctx, c.featureLayer ?? feature),
        );
      }
      return inputs.get(key)!;
    };

    const rows: SelectionRow[] = [];
    const notes: string[] = [];
    for (const c of space) {
      const row: SelectionRow = {
        ...c,
        folds: [],
        mean: null,
        sd: null,
        seconds: 0,
        testAccuracy: null,
        skipped: null,
      };
      rows.push(row);
      if (rows.length > 1 && elapsed() >= o.budgetSeconds) {
        row.skipped = `not started: the ${o.budgetSeconds}s search budget was spent`;
        continue;
      }
      const t0 = performance.now();
      const input = c.kind === 'transfer' ? await inputFor(c) : null;
      if (c.kind === 'transfer' && !input) {
        row.skipped = `the backbone has no cut point with ${c.trainable} conv layers to re-train`;
        continue;
      }
      const hyper = transferHyper(o.hyper, c.trainable);
      // The first (cheapest) configuration always finishes, so there is always a pick; the others
      // stop at the end of the epoch during which the budget runs out.
      const deadline = rows.length > 1 ? started + o.budgetSeconds * 1000 : undefined;
      const trainAndPredict = (r: Rows, seed: number) =>
        c.kind === 'scratch'
          ? fitScratch(
              all.map((s) => s.image),
              yAll,
              o.classes,
              r,
              seed,
              { ...o.scratchShape, batchSize: hyper.batchSize },
              deadline,
            )
          : fitTransfer(c, input!, yAll, o.classes, r, seed, hyper, deadline);
      try {
        for (let f = 0; f < k; f++) {
          const held = folds[f]!;
          const rest = folds.flatMap((fold, j) => (j === f ? [] : fold));
          const inner = innerSplit(y, rest, o.valFraction, o.seed + f);
          const probs = await trainAndPredict({ ...inner, predict: held }, o.seed);
          row.folds.push(accuracy(probs, y, held));
        }
        row.mean = mean(row.folds);
        row.sd = sd(row.folds);
        if (o.test) row.testAccuracy = accuracy(await trainAndPredict(runSplit, o.seed), yAll, testRows);
      } catch (e) {
        if (!(e instanceof BudgetSpent)) throw e;
        const spent = ((performance.now() - t0) / 1000).toFixed(1);
        if (row.mean === null) {
          row.skipped = `stopped after ${row.folds.length} of ${k} folds (${spent}s): the ${o.budgetSeconds}s search budget was spent`;
        } else {
          // Scored on every fold: it competes; only the hindsight test figure is missing.
          notes.push(`${c.id}: the search budget was spent before its test-set fit`);
        }
      }
      row.seconds = Number(((performance.now() - t0) / 1000).toFixed(3));
      progress.log(
        `  ${c.id}: ${row.mean === null ? row.skipped : `CV ${(row.mean * 100).toFixed(1)} ± ${(row.sd! * 100).toFixed(1)}%`}` +
          `${row.testAccuracy === null ? '' : `, test ${(row.testAccuracy * 100).toFixed(1)}%`} (${row.seconds.toFixed(1)}s)`,
      );
    }
    const choice = chooseOneStandardError(
      rows.filter((r) => r.mean !== null),
      k,
    );
    if (!choice) {
      throw new EdgetuneError(
        'bad_request',
        `--select auto: no configuration finished ${k}-fold cross-validation within the ${o.budgetSeconds}s search budget; raise --search-budget`,
      );
    }
    const winner = rows.find((r) => r.id === choice.winner)!;
    return {
      k,
      rule: 'one-standard-error',
      rows,
      winner: {
        id: winner.id,
        kind: winner.kind,
        featureLayer: winner.featureLayer,
        trainable: winner.trainable,
        head: winner.head,
        complexity: winner.complexity,
      },
      best: choice.best,
      threshold: choice.threshold,
      budgetSeconds: o.budgetSeconds,
      seconds: Number(elapsed().toFixed(3)),
      skipped: [...rows.filter((r) => r.skipped).map((r) => `${r.id}: ${r.skipped}`), ...notes],
    };
  } finally {
    shared.dispose();
  }
}
