/**
 * Stage 1 of `runTraining`: check the options, resolve the backbone and its freeze plan, read and
 * split the data, and (with `--select auto`) let the search choose the configuration.
 */
import { EdgetuneError } from '../../../shared/errors.ts';
import { assertName } from '../../../shared/names.ts';
import { decodeTargetFor } from '../../../shared/preprocess/preprocess.ts';
import { splitDataset } from '../../datasets/index.ts';
import { parseDatasetSpec } from '../../datasets/spec.ts';
import { readDataset } from '../../datasets/stream.ts';
import type { Dataset, Sample } from '../../datasets/types.ts';
import { defaultFeatureCacheDir } from '../../features/cache.ts';
import { type HeadSpec, parseHeadSpec } from '../../fit/head.ts';
import { type AutoPlan, planAuto, wantsSearch } from '../../select/auto.ts';
import { initTf } from '../../tf/backend.ts';
import { resolveBackbone, type TrainBackbone } from '../backbone.ts';
import type { TrainOptions } from '../options.ts';
import { type FreezePlan, planFreeze } from '../plan.ts';
import type { StageContext } from './context.ts';

export interface TrainInputs {
  backbone: TrainBackbone;
  plan: FreezePlan;
  head: HeadSpec;
  /** The `--select auto` search's choice, when one ran. */
  auto?: AutoPlan;
  /**
   * A head computed from the frozen features instead of trained: the search's prototype or
   * logistic pick, or `--head logistic`.
   */
  computedHead?: 'prototype' | 'logistic';
  /**
   * The export fits every labelled image (train and validation): a computed head has nothing to
   * stop early, so a validation split would only be labels it never learns from (the search's
   * hindsight fit does the same). Without a test set its held-out figures are then cross-validated.
   * Not beside `--baseline scratch`, whose comparisons need the same validation images.
   */
  fitsAllLabelled: boolean;
  /**
   * The export (a search's SGD-trained pick: MLP head, re-trained layers or the scratch CNN) is
   * trained again on every labelled image, for twice the epochs early stopping on the validation
   * split kept, the rate decayed (fit/phases.ts); its validation figures are the first fit's.
   */
  refitsAllLabelled: boolean;
  backendName: string;
  data: Dataset;
  train: Dataset;
  val: Dataset;
  test?: Dataset;
  /** Image files listed now and decoded batch by batch later. */
  streamed: boolean;
  labels: Dataset['labels'];
  classes: number;
  yTrain: Int32Array;
  yVal: Int32Array;
  /**
   * The held-out set: the test set when given, else the validation set — or, when the export fits
   * all labelled images, all of them (scored by cross-validation: select/out-of-fold.ts).
   */
  heldOutSamples: Sample[];
  yHeld: Int32Array;
}

function checkPositiveInt(name: string, v: number | undefined): void {
  if (v !== undefined && (!Number.isInteger(v) || v < 0)) {
    throw new EdgetuneError('bad_request', `${name} must be a non-negative integer, got ${v}`);
  }
}

/** Flag checks that need nothing loaded. */
export function checkTrainOptions(options: TrainOptions): void {
  assertName('model', options.name);
  for (const [k, v] of [
    ['--epochs', options.epochs],
    ['--fine-tune-epochs', options.fineTuneEpochs],
    ['--batch-size', options.batchSize],
    ['--patience', options.patience],
  ] as const) {
    checkPositiveInt(k, v);
  }
  if (options.lr !== undefined && !(options.lr > 0))
    throw new EdgetuneError('bad_request', '--lr must be > 0');
  if (options.searchBudget !== undefined && !(options.searchBudget > 0))
    throw new EdgetuneError('bad_request', '--search-budget must be a positive duration');
  if (options.select === 'best' && options.baseline !== 'scratch') {
    throw new EdgetuneError(
      'bad_request',
      '--select best compares with the baseline: add --baseline scratch',
    );
  }
}

/** Test labels are matched to training labels by name. */
function relabel(test: Dataset, labels: readonly string[]): Int32Array {
  const index = new Map(labels.map((l, i) => [l, i]));
  return Int32Array.from(test.samples, (s) => {
    const name = test.labels[s.label]!;
    const i = index.get(name);
    if (i === undefined) {
      throw new EdgetuneError(
        'bad_request',
        `--test-data has class "${name}", which is not among the training classes (${labels.join(', ')})`,
      );
    }
    return i;
  });
}

export async function prepareInputs(ctx: StageContext): Promise<TrainInputs> {
  const { options, progress, cwd, seed, warn } = ctx;
  checkTrainOptions(options);
  let head: HeadSpec = typeof options.head === 'object' ? options.head : parseHeadSpec(options.head);
  if (head.logistic && options.trainable !== undefined && options.trainable !== 0) {
    throw new EdgetuneError(
      'bad_request',
      '--head logistic is fitted on the frozen features: it cannot re-train backbone layers (drop --trainable)',
    );
  }

  const { name: backendName } = await initTf({ backend: options.backend ?? 'auto', log: progress.log });

  // A typo in a data spec should fail before any slow backbone loading: parse the specs first.
  if (typeof options.data === 'string') parseDatasetSpec(options.data);
  if (typeof options.testData === 'string') parseDatasetSpec(options.testData);
  // The backbone's input size is where image files are decoded towards (shrink-on-load, the same
  // as the edge does for this preprocessing), so it is resolved before the data is read.
  let mark = performance.now();
  const backbone = await resolveBackbone(
    options.backbone,
    progress.log,
    options.input,
    options.backboneSha256,
  );
  for (const w of backbone.warnings) warn(w);
  let plan = await planFreeze(backbone, options.featureLayer, options.trainable ?? 0);
  ctx.lap('backbone', mark);
  const load = { seed, cwd, ...decodeTargetFor(backbone.preprocess), log: progress.log };
  // Image files are streamed: listed now, decoded batch by batch during feature extraction.
  const readData = (spec: string) => readDataset(spec, load);
  mark = performance.now();
  const data = typeof options.data === 'string' ? await readData(options.data) : options.data;
  // A retraining job passes listed base images with feedback images: streamed all the same.
  const streamed = data.samples.some((s) => s.file !== undefined);
  for (const w of data.warnings) warn(w);
  const { train, val } = splitDataset(data, { valFraction: ctx.valSplit, seed });
  const test = typeof options.testData === 'string' ? await readData(options.testData) : options.testData;
  for (const w of test?.warnings ?? []) warn(w);
  const labels = data.labels;
  const classes = labels.length;
  if (classes < 2)
    throw new EdgetuneError(
      'bad_request',
      `a classifier needs at least two classes; ${data.spec} has ${classes}`,
    );
  const yTrain = Int32Array.from(train.samples, (s) => s.label);
  const yVal = Int32Array.from(val.samples, (s) => s.label);
  const yTest = test ? relabel(test, labels) : undefined;
  ctx.lap('data', mark);

  // --select auto: cross-validate the configurations, then train the winner as usual.
  let auto: AutoPlan | undefined;
  if (wantsSearch(options, data)) {
    mark = performance.now();
    if (options.select === undefined) {
      progress.log(
        `--select auto: fewer than ${options.autoSelectBelow} labelled images in a class, so the configuration is chosen by cross-validation (--select transfer trains the plain transfer model instead)`,
      );
    }
    auto = await planAuto(options, {
      backbone,
      train: train.samples,
      val: val.samples,
      test: test && yTest ? { samples: test.samples, y: yTest } : undefined,
      classes,
      featureLayer: options.featureLayer,
      seed,
      valFraction: ctx.valSplit,
      hyper: options,
      cacheDir: options.cacheDir ?? defaultFeatureCacheDir(cwd),
      device: options.device,
      progress,
    });
    head = auto.head;
    if (plan.keras) plan.keras.model.dispose();
    plan = await planFreeze(backbone, auto.featureLayer, auto.trainable);
    ctx.lap('select', mark);
  }
  const computedHead = auto ? auto.computedHead : head.logistic ? ('logistic' as const) : undefined;
  // Beside a scratch baseline both models keep the validation split, so that `--select best` and
  // the verdict compare them on the same held-out images.
  const fitsAllLabelled = computedHead !== undefined && options.baseline === undefined;
  // A searched (or recipe-reused) SGD-trained pick: trained again on every labelled image once
  // early stopping on the validation split has chosen its epochs (fit/phases.ts).
  const refitsAllLabelled =
    auto !== undefined &&
    computedHead === undefined &&
    options.baseline === undefined &&
    val.samples.length > 0;
  const heldOutSamples: Sample[] = test
    ? test.samples
    : fitsAllLabelled
      ? [...train.samples, ...val.samples]
      : val.samples;
  const yHeld = yTest ?? (fitsAllLabelled ? Int32Array.from([...yTrain, ...yVal]) : yVal);
  return {
    backbone,
    plan,
    head,
    auto,
    computedHead,
    fitsAllLabelled,
    refitsAllLabelled,
    backendName,
    data,
    train,
    val,
    test,
    streamed,
    labels,
    classes,
    yTrain,
    yVal,
    heldOutSamples,
    yHeld,
  };
}
