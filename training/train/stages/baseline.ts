/**
 * Stage 4 of `runTraining` (`--baseline scratch`, or the search chose scratch): a CNN trained from
 * scratch on the same images, so the transfer gain is measured rather than assumed.
 */
import { evaluatePredictions } from '../../evaluate/metrics.ts';
import { type Baseline, scratchSide, trainBaseline } from '../../fit/baseline.ts';
import { balancedClassWeights, type EpochRecord } from '../../fit/loop.ts';
import type { RawImage } from '../../../shared/preprocess/types.ts';
import { REFIT_EPOCH_FACTOR, refitEpochs } from '../../fit/phases.ts';
import type { ModelOutcome } from '../options.ts';
import type { StageContext } from './context.ts';
import type { TrainInputs } from './inputs.ts';

export interface BaselineFit {
  outcome: ModelOutcome;
  scratch: Baseline;
  /** Present when the export was trained again on every labelled image (its validation figures are the first fit's). */
  refit?: { images: number; epochs: number };
}

export async function fitScratchBaseline(
  ctx: StageContext,
  inputs: TrainInputs,
  hyper: { classWeights: Float32Array; batchSize: number },
  /** Receives the baseline model as soon as it exists (the caller disposes it). */
  own: (model: { dispose(): void }) => void,
): Promise<BaselineFit> {
  const { progress } = ctx;
  const { backbone, train, val, test, classes, labels, yTrain, yVal, yHeld, auto } = inputs;
  // The --select auto pick's export fit uses the seed its check settled on (select/export-check.ts).
  const seed = auto?.scratch ? (auto.fitSeed ?? ctx.seed) : ctx.seed;
  const mark = performance.now();
  const history: EpochRecord[] = [];
  const channels: 1 | 3 = backbone.preprocess.channels;
  const trainImages = train.samples.map((s) => s.image);
  const valImages = val.samples.map((s) => s.image);
  const side = scratchSide(Math.max(backbone.preprocess.width, backbone.preprocess.height), [
    ...trainImages,
    ...valImages,
  ]);
  const options = (images: RawImage[], y: Int32Array, phase: string) => ({
    train: { images, y },
    classes,
    side,
    channels,
    seed,
    classWeights: balancedClassWeights(y, classes),
    batchSize: hyper.batchSize,
    onEpoch: (e: EpochRecord) => {
      history.push({ ...e, phase });
      if (e.epoch % 10 === 0) {
        progress.log(
          `${phase} epoch ${e.epoch}: loss ${e.loss.toFixed(4)}${e.valAcc === undefined ? '' : ` val_acc ${e.valAcc.toFixed(3)}`}`,
        );
      }
    },
  });
  let scratch = await trainBaseline({
    ...options(trainImages, yTrain, 'baseline'),
    classWeights: hyper.classWeights,
    val: { images: valImages, y: yVal },
  });
  // Scored now: after a refit the validation images are training images.
  const bVal = evaluatePredictions(scratch.predict(valImages), yVal, labels);
  let refit: BaselineFit['refit'];
  if (auto?.scratch && inputs.refitsAllLabelled) {
    // The search's pick: trained again from the same initial weights on every labelled image, for
    // twice the epochs early stopping on the validation split kept, the rate decayed (fit/phases.ts).
    const epochs = scratch.history.bestEpoch;
    const images = [...trainImages, ...valImages];
    progress.log(
      `refit on all ${images.length} labelled images from the same initial weights: ${refitEpochs(epochs)} epochs with the learning rate decayed (${REFIT_EPOCH_FACTOR}× the ${epochs} early stopping on the validation split kept)`,
    );
    scratch.model.dispose();
    scratch = await trainBaseline({
      ...options(images, Int32Array.from([...yTrain, ...yVal]), 'refit baseline'),
      refit: { keptEpochs: epochs },
    });
    refit = { images: images.length, epochs };
  }
  own(scratch.model);
  const outcome: ModelOutcome = {
    kind: 'baseline',
    val: bVal,
    heldOut: test
      ? evaluatePredictions(scratch.predict(test.samples.map((s) => s.image)), yHeld, labels)
      : bVal,
    history,
    seconds: (performance.now() - mark) / 1000,
  };
  ctx.lap('baseline', mark);
  return { outcome, scratch, refit };
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

/**
 * `exports`: which model this run exports. Advice to switch is given only where the run exports
 * the transfer model; `--select best` and a search that picked the scratch CNN already export it.
 */
export function describeVerdict(
  transfer: ModelOutcome,
  baseline: ModelOutcome,
  exports: 'transfer' | 'better' | 'baseline' = 'transfer',
): string {
  const t = transfer.heldOut.accuracy;
  const b = baseline.heldOut.accuracy;
  const gap = ((t - b) * 100).toFixed(1);
  if (b > t) {
    const then =
      exports === 'transfer'
        ? 'use --select best or another backbone.'
        : 'the scratch baseline is what this run exports.';
    return (
      `The baseline trained from scratch wins: ${pct(b)} vs ${pct(t)} with transfer (${gap} points). ` +
      `This backbone does not transfer to this task (negative transfer); ${then}`
    );
  }
  if (b === t) return `Transfer and the scratch baseline tie at ${pct(t)}.`;
  return `Transfer wins: ${pct(t)} vs ${pct(b)} for the scratch baseline (+${gap} points).`;
}
