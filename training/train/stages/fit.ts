/**
 * Stage 3 of `runTraining`: the trainable part (rebuilt suffix + new head) on the prefix's
 * activations, head phase then fine-tune phase, through the one epoch driver; or, when the search
 * chose a computed head (class means, or the logistic fit), that head on the frozen features —
 * on every labelled image, when the search chose it. Evaluated on validation (by
 * cross-validation when the validation images were fitted) and test.
 */
import { EdgetuneError } from '../../../shared/errors.ts';
import { type Evaluation, evaluatePredictions } from '../../evaluate/metrics.ts';
import { setDenseHead } from '../../fit/class-means.ts';
import { computedHeadWeights } from '../../fit/computed-head.ts';
import { transferForward } from '../../fit/forward.ts';
import { describeHead } from '../../fit/head.ts';
import { balancedClassWeights, type EpochRecord, type Forward, predictProbs } from '../../fit/loop.ts';
import {
  joinData,
  type PhaseEpochs,
  REFIT_EPOCH_FACTOR,
  refitEpochs,
  trainPhases,
} from '../../fit/phases.ts';
import { buildTrainable, type TrainableParts } from '../../fit/suffix.ts';
import { outOfFoldProbs } from '../../select/out-of-fold.ts';
import { MAX_FOLDS } from '../../select/search.ts';
import { transferHyper } from '../hyper.ts';
import type { ModelOutcome } from '../options.ts';
import type { StageContext } from './context.ts';
import type { FeatureSet } from './features.ts';
import type { TrainInputs } from './inputs.ts';

export interface TransferFit {
  /** The trainable part; the caller disposes `parts.model`. */
  parts: TrainableParts;
  forward: Forward;
  outcome: ModelOutcome;
  /** Held-out probabilities when there is a test set (the parity gate reuses them). */
  heldProbs?: Float32Array;
  classWeights: Float32Array;
  batchSize: number;
  /**
   * Present when the export was trained again on every labelled image, for twice the epochs the
   * first fit's early stopping kept (fit/phases.ts); its validation figures are that first fit's.
   */
  refit?: { images: number; epochs: PhaseEpochs };
}

export async function fitTransfer(
  ctx: StageContext,
  inputs: TrainInputs,
  features: FeatureSet,
  /** Receives the trainable part as soon as it exists, so a failing fit still releases it. */
  own: (model: { dispose(): void }) => void,
): Promise<TransferFit> {
  const { options, progress } = ctx;
  const { plan, head, auto, classes, labels, yTrain, yVal, yHeld, test } = inputs;
  const computed = inputs.computedHead;
  // The --select auto pick's export fit uses the seed its check settled on (select/export-check.ts).
  const seed = auto && !auto.scratch ? (auto.fitSeed ?? ctx.seed) : ctx.seed;
  const { trainX, valX, heldX, itemShape, itemSize } = features;
  const mark = performance.now();
  const build = () =>
    buildTrainable({
      nodes: plan.keras?.nodes ?? [],
      boundary: plan.keras?.boundary ?? null,
      inputShape: itemShape,
      classes,
      head,
      seed,
    });
  let parts: TrainableParts = build();
  own(parts.model);
  let forward = transferForward(parts, head);
  const classWeights = balancedClassWeights(yTrain, classes);
  const history: EpochRecord[] = [];
  const onEpoch = (e: EpochRecord) => {
    history.push(e);
    // Head epochs take milliseconds: a line every 10 keeps logs readable.
    if (e.phase.endsWith('head') && e.epoch % 10 !== 0 && e.epoch !== 1) return;
    progress.log(
      `${e.phase} epoch ${e.epoch}: loss ${e.loss.toFixed(4)} acc ${e.acc.toFixed(3)}` +
        (e.valLoss === undefined ? '' : ` val_loss ${e.valLoss.toFixed(4)} val_acc ${e.valAcc?.toFixed(3)}`),
    );
  };
  const hyper = transferHyper(options, plan.trainableConvs);
  const { batchSize } = hyper;
  const all = inputs.fitsAllLabelled;
  progress.log(
    `head: ${computed === 'prototype' ? 'class means (prototype)' : describeHead(head)}; ${all ? `all ${yTrain.length + yVal.length} labelled images (nothing to stop early: the ${yVal.length} validation images are fitted too)` : `${yTrain.length} train / ${yVal.length} validation images`}, ${classes} classes`,
  );
  let crossValidated: Evaluation | undefined;
  let firstFitVal: Evaluation | undefined;
  let refit: TransferFit['refit'];
  if (computed) {
    // Computed heads read the frozen features, which stay in memory when nothing is re-trained.
    if (!(trainX.x instanceof Float32Array) || !(valX.x instanceof Float32Array))
      throw new EdgetuneError('internal', `${computed} head needs in-memory features`);
    // Fitted on the training split, or on every labelled image (train, then validation).
    const fitted = all ? joinData(trainX, valX) : trainX;
    const x = fitted.x as Float32Array;
    const y = fitted.y;
    setDenseHead(parts.output, computedHeadWeights(computed, x, y, Array.from(y.keys()), itemSize, classes));
    if (all) {
      // No labelled image is left out of the fit: its validation figures are cross-validated.
      const oof = outOfFoldProbs(computed, x, y, itemSize, classes, seed, MAX_FOLDS);
      crossValidated = evaluatePredictions(oof.probs, y, labels);
      progress.log(
        `cross-validated (${oof.k} stratified folds of the ${y.length} labelled images): accuracy ${(crossValidated.accuracy * 100).toFixed(2)}%, loss ${crossValidated.loss.toFixed(4)}`,
      );
    }
  } else {
    const phase = { head, classes, hyper, seed, classWeights, onEpoch };
    const epochs = await trainPhases({ ...phase, parts, train: trainX, val: valX });
    // Scored now: after the refit the validation images are training images.
    firstFitVal = evaluatePredictions(predictProbs(forward, valX, classes), yVal, labels);
    // Beside a scratch pick this is the plain transfer model the verdict compares it with, trained
    // as `--select transfer` trains it: only the export is refitted.
    if (inputs.refitsAllLabelled && !auto?.scratch) {
      const n = yTrain.length + yVal.length;
      progress.log(
        `refit on all ${n} labelled images from the same initial weights: ${refitEpochs(epochs.head)} head epochs${epochs.fineTune ? ` and ${refitEpochs(epochs.fineTune)} fine-tune` : ''} with the learning rate decayed (${REFIT_EPOCH_FACTOR}× the ${epochs.head}${epochs.fineTune ? ` and ${epochs.fineTune}` : ''} early stopping on the validation split kept)`,
      );
      parts = build();
      own(parts.model);
      forward = transferForward(parts, head);
      await trainPhases({
        ...phase,
        classWeights: balancedClassWeights(Int32Array.from([...yTrain, ...yVal]), classes),
        onEpoch: (e) => onEpoch({ ...e, phase: `refit ${e.phase}` }),
        parts,
        train: joinData(trainX, valX),
        epochs,
      });
      refit = { images: n, epochs };
    }
  }
  if (plan.keras) plan.keras.model.dispose();
  const transferVal =
    crossValidated ?? firstFitVal ?? evaluatePredictions(predictProbs(forward, valX, classes), yVal, labels);
  const heldProbs = test ? predictProbs(forward, heldX, classes) : undefined;
  const outcome: ModelOutcome = {
    kind: 'transfer',
    val: transferVal,
    heldOut: heldProbs ? evaluatePredictions(heldProbs, yHeld, labels) : transferVal,
    history,
    seconds: (performance.now() - mark) / 1000,
  };
  ctx.lap('fit', mark);
  return { parts, forward, outcome, heldProbs, classWeights, batchSize, refit };
}
