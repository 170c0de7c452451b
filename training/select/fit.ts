/**
 * Trains one configuration on some rows and predicts others — the same steps `runTraining`
 * takes for the exported model (head phase with early stopping on the inner validation rows,
 * then the fine-tune phase at lr/10 when backbone layers are re-trained; the scratch CNN with its
 * augmentation; a computed head on the training rows), so a CV score estimates what the export
 * will do. The export learns from the validation rows too: a computed head has nothing to stop
 * early on, so the caller passes them among the training rows; an SGD-trained configuration is
 * trained again on both, for twice the epochs early stopping kept with the rate decayed
 * (`refitAll`, fit/phases.ts; search.ts's run-split fit), or, given those epochs, only trained
 * on both (`epochs`: how a CV split scores it).
 */
import type * as tf from '@tensorflow/tfjs';
import type { RawImage } from '../../shared/preprocess/types.ts';
import type { TfNode } from '../backbones/convert/graph.ts';
import { trainBaseline } from '../fit/baseline.ts';
import { setDenseHead } from '../fit/class-means.ts';
import { computedHeadWeights } from '../fit/computed-head.ts';
import { transferForward } from '../fit/forward.ts';
import { balancedClassWeights, gatherRows, predictProbs } from '../fit/loop.ts';
import { type PhaseEpochs, trainPhases } from '../fit/phases.ts';
import { buildTrainable } from '../fit/suffix.ts';
import type { TransferHyper } from '../train/hyper.ts';
import { type Configuration, computedHead, headSpecOf } from './space.ts';

/** Cached activations at one boundary for every image (labelled first, then test), channels-last. */
export interface TransferInput {
  x: Float32Array;
  itemShape: number[];
  /** The backbone layers after the boundary, for fine-tuning configurations. */
  keras?: { nodes: TfNode[]; boundary: tf.SymbolicTensor };
}

export interface Rows {
  train: number[];
  val: number[];
  /** Rows to predict. */
  predict: number[];
  /**
   * Train again from the same initial weights on `train` and `val` together, for twice the epochs
   * early stopping on `val` kept, the rate decayed (how the export fits an SGD-trained configuration).
   */
  refitAll?: boolean;
  /**
   * No first fit: train once on `train` and `val` together for twice these epochs, the rate
   * decayed — the refit alone, with the epochs an early-stopped fit on the run's split kept (how
   * a cross-validation split scores an SGD-trained configuration as the export trains it).
   */
  epochs?: PhaseEpochs;
}

/** A fit's predictions and, where it stopped early, the epochs each phase kept. */
export interface Fitted {
  probs: Float32Array;
  epochs: PhaseEpochs | null;
}

/** Thrown from inside training when the search's time is up, so a long fit stops mid-way. */
export class BudgetSpent extends Error {}

/** Thrown from inside training when the search no longer wants the split (racing dropped it). */
export class SplitCancelled extends Error {}

/**
 * An epoch callback that stops training once `deadline` (performance.now() ms) has passed, or
 * once `cancelled[0]` is set (a flag shared with the thread that asked for the split).
 */
function stopAt(deadline: number | undefined, cancelled: Int32Array | undefined): (() => void) | undefined {
  if (deadline === undefined && cancelled === undefined) return undefined;
  return () => {
    if (cancelled && Atomics.load(cancelled, 0) !== 0) throw new SplitCancelled('split no longer wanted');
    if (deadline !== undefined && performance.now() > deadline) throw new BudgetSpent('search budget spent');
  };
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export async function trainTransfer(
  config: Configuration,
  input: TransferInput,
  y: Int32Array,
  classes: number,
  rows: Rows,
  seed: number,
  hyper: TransferHyper,
  deadline?: number,
  cancelled?: Int32Array,
): Promise<Fitted> {
  const head = headSpecOf(config.head);
  const item = size(input.itemShape);
  const pick = (idx: readonly number[]) => ({
    ...gatherRows(input.x, y, item, idx),
    itemShape: input.itemShape,
  });
  const build = () =>
    buildTrainable({
      nodes: input.keras?.nodes ?? [],
      boundary: input.keras?.boundary ?? null,
      inputShape: input.itemShape,
      classes,
      head,
      seed,
    });
  let parts = build();
  let kept: PhaseEpochs | null = null;
  const common = { head, classes, hyper, seed, onEpoch: stopAt(deadline, cancelled) };
  try {
    if (computedHead(config.head)) {
      setDenseHead(parts.output, computedHeadWeights(config.head, input.x, y, rows.train, item, classes));
    } else if (rows.epochs) {
      await trainPhases({ ...common, parts, train: pick([...rows.train, ...rows.val]), epochs: rows.epochs });
    } else {
      const epochs = await trainPhases({ ...common, parts, train: pick(rows.train), val: pick(rows.val) });
      kept = epochs;
      if (rows.refitAll) {
        // Again from the same initial weights, on every labelled row, for twice the epochs the
        // validation rows chose, the rate decayed (fit/phases.ts).
        parts.model.dispose();
        parts = build();
        await trainPhases({ ...common, parts, train: pick([...rows.train, ...rows.val]), epochs });
      }
    }
    return { probs: predictProbs(transferForward(parts, head), pick(rows.predict), classes), epochs: kept };
  } finally {
    parts.model.dispose();
  }
}

export async function trainScratch(
  images: readonly RawImage[],
  y: Int32Array,
  classes: number,
  rows: Rows,
  seed: number,
  shape: { side: number; channels: 1 | 3; batchSize: number; reduceInput?: boolean },
  deadline?: number,
  cancelled?: Int32Array,
): Promise<Fitted> {
  const take = (idx: readonly number[]) => ({
    images: idx.map((i) => images[i]!),
    y: Int32Array.from(idx, (i) => y[i]!),
  });
  const options = (train: { images: RawImage[]; y: Int32Array }) => ({
    train,
    classes,
    side: shape.side,
    channels: shape.channels,
    reduceInput: shape.reduceInput,
    seed,
    classWeights: balancedClassWeights(train.y, classes),
    batchSize: shape.batchSize,
    onEpoch: stopAt(deadline, cancelled),
  });
  const all = () => take([...rows.train, ...rows.val]);
  if (rows.epochs) {
    const baseline = await trainBaseline({ ...options(all()), refit: { keptEpochs: rows.epochs.head } });
    try {
      return { probs: baseline.predict(rows.predict.map((i) => images[i]!)), epochs: null };
    } finally {
      baseline.model.dispose();
    }
  }
  let baseline = await trainBaseline({ ...options(take(rows.train)), val: take(rows.val) });
  const kept: PhaseEpochs = { head: baseline.history.bestEpoch, fineTune: 0 };
  if (rows.refitAll) {
    // Again from the same initial weights on every labelled row (fit/phases.ts).
    const keptEpochs = baseline.history.bestEpoch;
    baseline.model.dispose();
    baseline = await trainBaseline({ ...options(all()), refit: { keptEpochs } });
  }
  try {
    return { probs: baseline.predict(rows.predict.map((i) => images[i]!)), epochs: kept };
  } finally {
    baseline.model.dispose();
  }
}
