/**
 * A transfer model's training, in one place for the search's fits and the export: the head phase,
 * then the fine-tune phase at lr/10 when backbone layers are re-trained.
 *
 * With validation data each phase stops early on it and keeps its best epoch, and the epochs kept
 * are returned. Without, each phase runs exactly the epochs it is given: how a configuration is
 * trained again on every labelled image (training and validation) once a first fit has chosen
 * its epochs, so the export learns from all the labels, as a computed head's does, instead of
 * leaving a fifth of them to early stopping.
 */
import * as tf from '@tensorflow/tfjs';
import type { TransferHyper } from '../train/hyper.ts';
import { transferForward } from './forward.ts';
import type { HeadSpec } from './head.ts';
import { balancedClassWeights, cosineDecay, type EpochRecord, type TensorData, trainLoop } from './loop.ts';
import type { TrainableParts } from './suffix.ts';

/**
 * How long a refit on every labelled image trains, from the epochs early stopping kept in the
 * first fit: FACTOR times as many, with the learning rate decayed (cosine) to 2 % of the phase's
 * over them. The decay is what makes a refit safe: at a constant rate a small set's test accuracy
 * swings by 10–20 points from one epoch to the next (the scratch CNN on the OpenCV digits: 61–90 %
 * within ten epochs; bench/select/refit-trajectory.ts), and a refit has no validation images to
 * choose a good epoch by. The decayed rate averages about half the constant one, so twice the
 * epochs take the first fit's total step (on the OpenCV digits, seeds 1–6, the SGD-trained
 * configurations' test accuracy against their first fit: factor 1 −0.8 points, 1.5 +0.35, 2 +1.0,
 * 3 +1.3 but the exported picks' lower; docs/select-auto.md).
 */
export const REFIT_EPOCH_FACTOR = 2;

export function refitEpochs(kept: number): number {
  return Math.max(1, Math.round(kept * REFIT_EPOCH_FACTOR));
}

/** The epochs each phase kept (fine-tune 0: no fine-tune phase). */
export interface PhaseEpochs {
  head: number;
  fineTune: number;
}

export interface PhaseOptions {
  parts: TrainableParts;
  head: HeadSpec;
  train: TensorData;
  /** Early stopping on these; absent: exactly `epochs`. */
  val?: TensorData;
  classes: number;
  hyper: TransferHyper;
  seed: number;
  /** Required without `val`: the epochs a fit with early stopping kept. */
  epochs?: PhaseEpochs;
  classWeights?: Float32Array;
  onEpoch?: (e: EpochRecord) => void;
}

export async function trainPhases(o: PhaseOptions): Promise<PhaseEpochs> {
  const { parts, head, train, val, classes, hyper, seed, epochs } = o;
  if (!val && !epochs) throw new Error('trainPhases: without validation data the epochs must be given');
  const common = {
    forward: transferForward(parts, head),
    model: parts.model,
    train,
    val,
    classes,
    classWeights: o.classWeights ?? balancedClassWeights(train.y, classes),
    batchSize: hyper.batchSize,
    onEpoch: o.onEpoch,
  };
  // The head phase leaves the re-trained layers as they are (in inference mode), so their output
  // is computed once here instead of in every epoch: the same numbers, a fraction of the time (it
  // was most of a fine-tuning configuration's CV time). Features read from disk batch by batch
  // stay so.
  const frozen =
    parts.featureModel && inMemory(train) && (!val || inMemory(val))
      ? {
          forward: transferForward({ ...parts, featureModel: undefined }, head),
          train: embed(parts.featureModel, train, hyper.batchSize),
          val: val && embed(parts.featureModel, val as InMemory, hyper.batchSize),
        }
      : {};
  const headPhase = await trainLoop({
    ...common,
    ...frozen,
    phase: 'head',
    variables: parts.headVariables,
    epochs: epochs ? refitEpochs(epochs.head) : hyper.epochs,
    lr: hyper.lr,
    schedule: epochs && cosineDecay(hyper.lr),
    patience: hyper.patience,
    seed,
  });
  const fineTuneEpochs = epochs ? epochs.fineTune : hyper.fineTuneEpochs;
  if (fineTuneEpochs === 0) return { head: headPhase.bestEpoch, fineTune: 0 };
  const fineTune = await trainLoop({
    ...common,
    phase: 'fine-tune',
    variables: [...parts.suffixVariables, ...parts.headVariables],
    epochs: epochs ? refitEpochs(fineTuneEpochs) : fineTuneEpochs,
    lr: hyper.lr / 10,
    schedule: epochs && cosineDecay(hyper.lr / 10),
    patience: hyper.patience,
    seed: seed + 1,
  });
  return { head: headPhase.bestEpoch, fineTune: fineTune.bestEpoch };
}

/** `a`'s rows then `b`'s, in memory when both are, else read through from either. */
export function joinData(a: TensorData, b: TensorData): TensorData {
  const y = Int32Array.from([...a.y, ...b.y]);
  if (inMemory(a) && inMemory(b)) {
    const x = new Float32Array(a.x.length + b.x.length);
    x.set(a.x);
    x.set(b.x, a.x.length);
    return { x, y, itemShape: a.itemShape };
  }
  const size = a.itemShape.reduce((p, d) => p * d, 1);
  const first = a.y.length;
  const read = (d: TensorData, row: number, out: Float32Array, offset: number) => {
    if (d.x instanceof Float32Array) out.set(d.x.subarray(row * size, (row + 1) * size), offset);
    else d.x.read(row, out, offset);
  };
  return {
    x: {
      rows: y.length,
      read: (row, out, offset) =>
        row < first ? read(a, row, out, offset) : read(b, row - first, out, offset),
    },
    y,
    itemShape: a.itemShape,
  };
}

type InMemory = TensorData & { x: Float32Array };

function inMemory(d: TensorData): d is InMemory {
  return d.x instanceof Float32Array;
}

/** The re-trained layers' output (the feature vector) for every row, in inference mode. */
function embed(featureModel: tf.LayersModel, d: InMemory, batchSize: number): InMemory {
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
