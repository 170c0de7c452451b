/**
 * Trains one configuration on some rows and predicts others — the same steps `runTraining`
 * takes for the exported model (head phase with early stopping on the inner validation rows,
 * then the fine-tune phase at lr/10 when backbone layers are re-trained; the scratch CNN with its
 * augmentation; a computed head on the training rows), so a CV score estimates what the export
 * will do. A computed head has nothing to stop early on, so the export fits it on the validation
 * rows too: the caller passes them among the training rows (search.ts's run-split fit).
 */
import * as tf from '@tensorflow/tfjs';
import type { RawImage } from '../../shared/preprocess/types.ts';
import type { TfNode } from '../backbones/convert/graph.ts';
import { trainBaseline } from '../fit/baseline.ts';
import { setDenseHead } from '../fit/class-means.ts';
import { computedHeadWeights } from '../fit/computed-head.ts';
import { transferForward } from '../fit/forward.ts';
import { balancedClassWeights, gatherRows, predictProbs, trainLoop } from '../fit/loop.ts';
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

export async function fitTransfer(
  config: Configuration,
  input: TransferInput,
  y: Int32Array,
  classes: number,
  rows: Rows,
  seed: number,
  hyper: TransferHyper,
  deadline?: number,
  cancelled?: Int32Array,
): Promise<Float32Array> {
  const head = headSpecOf(config.head);
  const parts = buildTrainable({
    nodes: input.keras?.nodes ?? [],
    boundary: input.keras?.boundary ?? null,
    inputShape: input.itemShape,
    classes,
    head,
    seed,
  });
  try {
    const item = size(input.itemShape);
    const pick = (idx: readonly number[]) => ({
      ...gatherRows(input.x, y, item, idx),
      itemShape: input.itemShape,
    });
    const train = pick(rows.train);
    if (computedHead(config.head)) {
      setDenseHead(parts.output, computedHeadWeights(config.head, input.x, y, rows.train, item, classes));
    } else {
      const forward = transferForward(parts, head);
      const classWeights = balancedClassWeights(train.y, classes);
      const val = pick(rows.val);
      const common = {
        forward,
        model: parts.model,
        train,
        val,
        classes,
        classWeights,
        batchSize: hyper.batchSize,
        onEpoch: stopAt(deadline, cancelled),
      };
      // The head phase leaves the re-trained layers as they are, so their output is computed once
      // here instead of in every epoch (the same numbers, a fraction of the time: it was most of a
      // fine-tuning configuration's CV time).
      const frozen = parts.featureModel
        ? {
            forward: transferForward({ ...parts, featureModel: undefined }, head),
            train: embed(parts.featureModel, train, hyper.batchSize),
            val: embed(parts.featureModel, val, hyper.batchSize),
          }
        : {};
      await trainLoop({
        ...common,
        ...frozen,
        phase: 'head',
        variables: parts.headVariables,
        epochs: hyper.epochs,
        lr: hyper.lr,
        patience: hyper.patience,
        seed,
      });
      if (hyper.fineTuneEpochs > 0) {
        await trainLoop({
          ...common,
          phase: 'fine-tune',
          variables: [...parts.suffixVariables, ...parts.headVariables],
          epochs: hyper.fineTuneEpochs,
          lr: hyper.lr / 10,
          patience: hyper.patience,
          seed: seed + 1,
        });
      }
    }
    return predictProbs(transferForward(parts, head), pick(rows.predict), classes);
  } finally {
    parts.model.dispose();
  }
}

/** The re-trained layers' output (the feature vector) for every row, in inference mode. */
function embed(
  featureModel: tf.LayersModel,
  d: { x: Float32Array; y: Int32Array; itemShape: number[] },
  batchSize: number,
): { x: Float32Array; y: Int32Array; itemShape: number[] } {
  const n = d.y.length;
  const out = tf.tidy(
    () => featureModel.predict(tf.tensor(d.x, [n, ...d.itemShape]), { batchSize }) as tf.Tensor,
  );
  try {
    return { x: out.dataSync() as Float32Array, y: d.y, itemShape: out.shape.slice(1) };
  } finally {
    out.dispose();
  }
}

export async function fitScratch(
  images: readonly RawImage[],
  y: Int32Array,
  classes: number,
  rows: Rows,
  seed: number,
  shape: { side: number; channels: 1 | 3; batchSize: number; reduceInput?: boolean },
  deadline?: number,
  cancelled?: Int32Array,
): Promise<Float32Array> {
  const take = (idx: readonly number[]) => ({
    images: idx.map((i) => images[i]!),
    y: Int32Array.from(idx, (i) => y[i]!),
  });
  const train = take(rows.train);
  const baseline = await trainBaseline({
    train,
    val: take(rows.val),
    classes,
    side: shape.side,
    channels: shape.channels,
    reduceInput: shape.reduceInput,
    seed,
    classWeights: balancedClassWeights(train.y, classes),
    batchSize: shape.batchSize,
    onEpoch: stopAt(deadline, cancelled),
  });
  try {
    return baseline.predict(rows.predict.map((i) => images[i]!));
  } finally {
    baseline.model.dispose();
  }
}
