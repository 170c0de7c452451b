/**
 * Pretraining a classifier from scratch (tfjs, any backend), through the one epoch driver
 * (training/fit/loop.ts) that fine-tuning and the scratch baseline use too.
 *
 * A hand-written loop rather than `model.fit`: shuffles come from the seeded RNG (shared/random.ts)
 * so runs are reproducible from `--seed`, batches are built from plain typed arrays without
 * holding the whole dataset as a tensor, and the best epoch's weights (including BatchNorm moving
 * statistics) are restored at the end. Dropout masks come from the same seed too (see
 * training/tf/seeded-random.ts).
 */
import type * as tf from '@tensorflow/tfjs';
import { EdgetuneError } from '../../shared/errors.ts';
import { createRng } from '../../shared/random.ts';
import { withSeededRandom } from '../tf/seeded-random.ts';
import {
  type BatchRecord,
  cosineDecay,
  type EpochRecord,
  type Forward,
  lossAndAccuracy,
  predictProbs,
  trainLoop,
} from '../fit/loop.ts';

export interface FitOptions {
  /** N·h·w·c values, channels-last, in the range the model expects. */
  x: Float32Array;
  /** N class indices in 0..classes-1. */
  y: Int32Array;
  valX?: Float32Array;
  valY?: Int32Array;
  epochs: number;
  batchSize: number;
  /** Adam learning rate (the peak, when a schedule is used). */
  lr: number;
  /** 'cosine' (default): per-step cosine decay from lr to 2% of lr over all epochs (`cosineDecay`). */
  schedule?: 'cosine' | 'constant';
  seed: number;
  /** Epochs without a new best validation loss before stopping (default 3). Needs valX/valY. */
  patience?: number;
  onEpoch?: (log: EpochRecord) => void;
  onBatch?: (log: BatchRecord) => void;
}

export interface FitHistory {
  epochs: EpochRecord[];
  /** 1-based epoch whose weights the model holds now (best validation loss, else the last). */
  bestEpoch: number;
  stoppedEarly: boolean;
  seconds: number;
}

interface Shape {
  h: number;
  w: number;
  c: number;
  classes: number;
  size: number;
}

/** Trains `model` (softmax output) with Adam on sparse categorical cross-entropy. */
export async function fitClassifier(model: tf.LayersModel, opts: FitOptions): Promise<FitHistory> {
  const shape = modelShape(model);
  checkData(opts.x, opts.y, shape, 'x');
  const hasVal = opts.valX !== undefined && opts.valY !== undefined;
  if (hasVal) checkData(opts.valX!, opts.valY!, shape, 'valX');
  for (const [k, v] of [
    ['epochs', opts.epochs],
    ['batchSize', opts.batchSize],
  ] as const) {
    if (!Number.isInteger(v) || v < 1)
      throw new EdgetuneError('bad_request', `${k} must be a positive integer`);
  }
  if (!(opts.lr > 0)) throw new EdgetuneError('bad_request', 'lr must be > 0');
  const itemShape = [shape.h, shape.w, shape.c];
  // Dropout masks from their own seeded stream, apart from the shuffles' (the loop's rng).
  const dropoutRng = createRng(opts.seed ^ 0x5eed);
  const forward: Forward = (xs, training) =>
    training
      ? withSeededRandom(dropoutRng, () => model.apply(xs, { training: true }) as tf.Tensor2D)
      : (model.apply(xs, { training: false }) as tf.Tensor2D);
  const result = await trainLoop({
    phase: 'pretrain',
    forward,
    variables: model.trainableWeights,
    model,
    train: { x: opts.x, y: opts.y, itemShape },
    val: hasVal ? { x: opts.valX!, y: opts.valY!, itemShape } : undefined,
    classes: shape.classes,
    epochs: opts.epochs,
    batchSize: opts.batchSize,
    lr: opts.lr,
    schedule: (opts.schedule ?? 'cosine') === 'cosine' ? cosineDecay(opts.lr) : undefined,
    patience: opts.patience ?? 3,
    seed: opts.seed,
    onEpoch: opts.onEpoch,
    onBatch: opts.onBatch,
  });
  return {
    epochs: result.epochs,
    bestEpoch: result.bestEpoch,
    stoppedEarly: result.stoppedEarly,
    seconds: result.seconds,
  };
}

/** Class probabilities, N·classes values, computed in inference mode in batches. */
export function predict(model: tf.LayersModel, x: Float32Array, batchSize = 256): Float32Array {
  const shape = modelShape(model);
  if (x.length % shape.size !== 0) {
    throw new EdgetuneError('bad_request', `x has ${x.length} values, not a multiple of ${shape.size}`);
  }
  return predictProbs(
    (xs) => model.predict(xs) as tf.Tensor2D,
    { x, itemShape: [shape.h, shape.w, shape.c] },
    shape.classes,
    batchSize,
  );
}

/** Fraction of rows whose arg-max equals the label. */
export function accuracy(probs: Float32Array, y: Int32Array): number {
  return lossAndAccuracy(probs, y).acc;
}

function modelShape(model: tf.LayersModel): Shape {
  const inShape = model.inputs[0]?.shape;
  const outShape = model.outputs[0]?.shape;
  if (model.inputs.length !== 1 || inShape?.length !== 4 || outShape?.length !== 2) {
    throw new EdgetuneError(
      'bad_request',
      'expected a model with one [N,h,w,c] input and one [N,classes] output',
    );
  }
  const [, h, w, c] = inShape as number[];
  const classes = outShape[1] as number;
  return { h: h!, w: w!, c: c!, classes, size: h! * w! * c! };
}

function checkData(x: Float32Array, y: Int32Array, s: Shape, name: string): number {
  const n = y.length;
  if (n === 0) throw new EdgetuneError('bad_request', `${name}: no samples`);
  if (x.length !== n * s.size) {
    throw new EdgetuneError(
      'bad_request',
      `${name} has ${x.length} values; expected ${n}·${s.h}·${s.w}·${s.c}`,
    );
  }
  for (let i = 0; i < n; i++) {
    if (!Number.isInteger(y[i]) || y[i]! < 0 || y[i]! >= s.classes) {
      throw new EdgetuneError('bad_request', `label ${y[i]} at ${i} is outside 0..${s.classes - 1}`);
    }
  }
  return n;
}
