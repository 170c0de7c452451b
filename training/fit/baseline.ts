/**
 * `--baseline scratch`: a competent CNN trained from scratch on the same labelled images, so the
 * transfer gain is measured rather than assumed. small-cnn (conv+BN blocks, BN momentum 0.9),
 * random shifts of ~8% of the side on every batch, Adam, early stopping on validation loss. The
 * resolution suits the data: the backbone's input side, capped at 64 px (a 224-px backbone's
 * baseline trains at 64), and never above the labelled images' own size (`scratchSide`); above
 * 32 px the network reduces its input first (`scratchReducesInput`).
 */
import type * as tf from '@tensorflow/tfjs';
import type { PreprocessSpec } from '../../shared/manifest/preprocess.ts';
import { imagesToTensor } from '../../shared/preprocess/tensor.ts';
import type { RawImage } from '../../shared/preprocess/types.ts';
import type { Rng } from '../../shared/random.ts';
import { buildArch } from '../backbones/archs.ts';
import { shiftBatch } from './augment.ts';
import { withSeededRandom } from '../tf/seeded-random.ts';
import {
  cosineDecay,
  type EpochRecord,
  type Forward,
  type LoopResult,
  predictProbs,
  trainLoop,
} from './loop.ts';
import { refitEpochs } from './phases.ts';

export interface BaselineOptions {
  train: { images: RawImage[]; y: Int32Array };
  /** Early stopping on these; absent: exactly `epochs` epochs, the last one's weights kept. */
  val?: { images: RawImage[]; y: Int32Array };
  classes: number;
  /** Side and channels of the backbone input; the baseline uses min(side, 64). */
  side: number;
  channels: 1 | 3;
  seed: number;
  epochs?: number;
  patience?: number;
  lr?: number;
  batchSize?: number;
  arch?: string;
  /** Reduce the input in the network (buildArch's `reduceInput`); default `scratchReducesInput`. */
  reduceInput?: boolean;
  classWeights?: Float32Array;
  /**
   * A refit on every labelled image (no `val`): `refitEpochs(keptEpochs)` epochs with the learning
   * rate decayed over them (fit/phases.ts), `keptEpochs` being what early stopping kept in a first fit.
   */
  refit?: { keptEpochs: number };
  onEpoch?: (log: EpochRecord) => void;
}

export interface Baseline {
  model: tf.LayersModel;
  /** Preprocessing of the baseline's own input (NCHW for the export; tfjs gets NHWC). */
  preprocess: PreprocessSpec;
  forward: Forward;
  history: LoopResult;
  predict(images: readonly RawImage[]): Float32Array;
  arch: string;
}

export const BASELINE_MAX_SIDE = 64;

/**
 * The side the scratch CNN trains at for a backbone input side `side`: at most BASELINE_MAX_SIDE,
 * and at most the largest of the labelled images (`images`: all of them, so cross-validation and
 * the export agree). Upscaling adds no information, only cost: the OpenCV digits (20 px) under
 * MobileNetV2 trained at 64 px, about ten times the multiply-adds of 20 px per image.
 */
export function scratchSide(side: number, images: readonly RawImage[]): number {
  let largest = 0;
  for (const im of images) largest = Math.max(largest, im.width, im.height);
  return Math.min(side, BASELINE_MAX_SIDE, largest > 0 ? largest : side);
}

/** Largest side the scratch CNN's blocks work at as small-cnn describes them. */
export const BASELINE_FULL_SIDE = 32;

/**
 * Whether the scratch CNN at side `side` reduces its input (an average pool and a stride-2 first
 * conv: its blocks work at a quarter of the side). Above 32 px: at 64 px (photos) the full-size
 * network cost ~90–105 CPU s per cross-validation split, ten times the 20-px digits', and tested
 * no better than the reduced one on the digits upscaled to 64 px or on photo crops
 * (bench/select/scratch-side.ts, docs/select-auto.md); reduced, a 64-px split costs about what a
 * 20-px one does. At 32 px and below nothing changes, so the 20- and 28-px tasks train exactly as
 * before.
 */
export function scratchReducesInput(side: number): boolean {
  return side > BASELINE_FULL_SIDE;
}

export function baselineSpec(side: number, channels: 1 | 3): PreprocessSpec {
  const s = Math.min(side, BASELINE_MAX_SIDE);
  return {
    width: s,
    height: s,
    channels,
    layout: 'NCHW',
    resize: 'bilinear',
    scale: 1,
    mean: [0],
    std: [1],
    invert: false,
  };
}

export async function trainBaseline(opts: BaselineOptions): Promise<Baseline> {
  const arch = opts.arch ?? 'small-cnn';
  const preprocess = baselineSpec(opts.side, opts.channels);
  const nhwc: PreprocessSpec = { ...preprocess, layout: 'NHWC' };
  const s = preprocess.width;
  const itemShape = [s, s, opts.channels];
  const model = buildArch(arch, {
    inputShape: [s, s, opts.channels],
    classes: opts.classes,
    seed: opts.seed,
    reduceInput: opts.reduceInput ?? scratchReducesInput(s),
  });
  // Dropout masks from the loop's seeded RNG: the baseline is reproducible from --seed.
  const forward: Forward = (xs, training, rng) =>
    training
      ? withSeededRandom(rng, () => model.apply(xs, { training }) as tf.Tensor2D)
      : (model.apply(xs, { training }) as tf.Tensor2D);
  const lr = opts.lr ?? 3e-3;
  const maxShift = Math.max(1, Math.round(s * 0.08));
  const history = await trainLoop({
    phase: 'baseline',
    forward,
    variables: model.trainableWeights,
    model,
    train: { x: imagesToTensor(opts.train.images, nhwc), y: opts.train.y, itemShape },
    val: opts.val && { x: imagesToTensor(opts.val.images, nhwc), y: opts.val.y, itemShape },
    classes: opts.classes,
    classWeights: opts.classWeights,
    epochs: opts.refit ? refitEpochs(opts.refit.keptEpochs) : (opts.epochs ?? 80),
    batchSize: opts.batchSize ?? 32,
    lr,
    schedule: opts.refit && cosineDecay(lr),
    patience: opts.patience ?? 12,
    seed: opts.seed,
    augment: (batch: Float32Array, n: number, rng: Rng) =>
      shiftBatch(batch, n, s, s, opts.channels, maxShift, rng),
    onEpoch: opts.onEpoch,
  });
  return {
    model,
    preprocess,
    forward,
    history,
    arch,
    predict: (images) => predictProbs(forward, { x: imagesToTensor(images, nhwc), itemShape }, opts.classes),
  };
}
