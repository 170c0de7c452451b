/**
 * `runTraining`: the whole transfer pipeline as a library function (the CLI, the retraining
 * worker and the demo call it). One direction, no back-and-forth:
 *   datasets → frozen prefix in onnxruntime-node (cached per image) → trainable part + head in
 *   tfjs (head phase, optional fine-tune phase) → [scratch baseline] → evaluate → assemble ONE
 *   ONNX → parity gate on raw validation images → write the export → [publish].
 */
import fs from 'node:fs';
import path from 'node:path';
import { EdgetuneError } from '../../shared/errors.ts';
import { assertName } from '../../shared/names.ts';
import type { PreprocessSpec } from '../../shared/manifest/preprocess.ts';
import { encodeModel, type onnx } from '../../shared/onnx/proto.ts';
import { decodeTargetFor } from '../../shared/preprocess/preprocess.ts';
import type { RawImage } from '../../shared/preprocess/types.ts';
import { datasetDigest, loadDataset, splitDataset } from '../datasets/index.ts';
import { parseDatasetSpec } from '../datasets/spec.ts';
import { imageShapeWarnings } from '../datasets/shape-warnings.ts';
import { isStreamable, listDataset } from '../datasets/stream.ts';
import type { Dataset, Sample } from '../datasets/types.ts';
import { evaluatePredictions } from '../evaluate/metrics.ts';
import { assembleStandaloneModel, assembleTransferModel } from '../export/assemble.ts';
import { buildManifest } from '../export/manifest.ts';
import { prepareEdgeVariants } from '../export/edge-variants.ts';
import { checkParity } from '../export/parity.ts';
import { defaultFeatureCacheDir } from '../features/cache.ts';
import { extractFeatures } from '../features/extract.ts';
import { channelsLastShape, chwToHwc } from '../features/layout.ts';
import { frozenPrefix } from '../features/prefix.ts';
import { type Baseline, trainBaseline } from '../fit/baseline.ts';
import { transferForward } from '../fit/forward.ts';
import { describeHead, type HeadSpec, parseHeadSpec } from '../fit/head.ts';
import {
  balancedClassWeights,
  type EpochRecord,
  predictProbs,
  type TensorData,
  trainLoop,
} from '../fit/loop.ts';
import { cachedRows } from '../features/cached-rows.ts';
import { buildTrainable, type TrainableParts } from '../fit/suffix.ts';
import { setClassMeanHead } from '../fit/class-means.ts';
import { type AutoPlan, type ChosenConfiguration, planAuto, wantsSearch } from '../select/auto.ts';
import { addInt8ToExport } from '../quantize/export-dir.ts';
import { renderReport } from '../report/html.ts';
import { openStore } from '../../shared/store/node/open.ts';
import { publishExportDir } from '../registry/publish-dir.ts';
import { initTf } from '../tf/backend.ts';
import { resolveBackbone } from './backbone.ts';
import type { ModelOutcome, TrainOptions, TrainResult } from './options.ts';
import { transferHyper } from './hyper.ts';
import { constantFeatureWarning, upscaleWarning, upscaleWarningFromSides } from './input-warnings.ts';
import { planFreeze } from './plan.ts';
import { type Progress, silentProgress } from './progress.ts';
import { describeThroughput, finalThroughput, throughput } from './throughput.ts';
import { buildRecipe, canonicalBackbone, RECIPE_FILE, type TrainingRecipe } from './recipe.ts';

/** Training rows the constant-feature check reads back when activations stay on disk. */
const FROM_DISK_PROBE_ROWS = 256;

/** Validation images the parity gate decodes again when the data is streamed. */
const STREAMED_GATE_IMAGES = 64;

function checkPositiveInt(name: string, v: number | undefined): void {
  if (v !== undefined && (!Number.isInteger(v) || v < 0)) {
    throw new EdgetuneError('bad_request', `${name} must be a non-negative integer, got ${v}`);
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

function timestamp(): string {
  return new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

export async function runTraining(options: TrainOptions): Promise<TrainResult> {
  const t0 = performance.now();
  const timings: Record<string, number> = {};
  const lap = (key: string, since: number) => {
    timings[key] = Number(((performance.now() - since) / 1000).toFixed(3));
  };
  const progress: Progress = options.progress ?? silentProgress;
  const cwd = options.cwd ?? process.cwd();
  assertName('model', options.name);
  const seed = options.seed ?? 1;
  for (const [k, v] of [
    ['--epochs', options.epochs],
    ['--fine-tune-epochs', options.fineTuneEpochs],
    ['--batch-size', options.batchSize],
    ['--patience', options.patience],
  ] as const) {
    checkPositiveInt(k, v);
  }
  const valSplit = options.valSplit ?? 0.2;
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
  let head: HeadSpec = typeof options.head === 'object' ? options.head : parseHeadSpec(options.head);
  const warnings: string[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    progress.log(`warning: ${m}`);
  };

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
  lap('backbone', mark);
  const load = { seed, cwd, ...decodeTargetFor(backbone.preprocess), log: progress.log };
  // Image files are streamed: listed now, decoded batch by batch during feature extraction.
  const readData = (spec: string) => (isStreamable(spec) ? listDataset(spec, load) : loadDataset(spec, load));
  const streamed = typeof options.data === 'string' && isStreamable(options.data);
  mark = performance.now();
  const data = typeof options.data === 'string' ? await readData(options.data) : options.data;
  for (const w of data.warnings) warn(w);
  const { train, val } = splitDataset(data, { valFraction: valSplit, seed });
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
  const heldOutSamples: Sample[] = test ? test.samples : val.samples;
  const yHeld = test ? relabel(test, labels) : yVal;
  lap('data', mark);

  // --select auto: cross-validate the configurations, then train the winner below as usual.
  let auto: AutoPlan | undefined;
  if (wantsSearch(options, data)) {
    mark = performance.now();
    auto = await planAuto(options, {
      backbone,
      train: train.samples,
      val: val.samples,
      test: test ? { samples: test.samples, y: yHeld } : undefined,
      classes,
      featureLayer: options.featureLayer,
      seed,
      valFraction: valSplit,
      hyper: options,
      cacheDir: options.cacheDir ?? defaultFeatureCacheDir(cwd),
      device: options.device,
      progress,
    });
    head = auto.head;
    if (plan.keras) plan.keras.model.dispose();
    plan = await planFreeze(backbone, auto.featureLayer, auto.trainable);
    lap('select', mark);
  }

  // Streamed images' sizes are only known once decoded: warned about after extraction.
  const upscaled = streamed ? undefined : upscaleWarning(train.samples, backbone.preprocess);
  if (upscaled) warn(upscaled);
  progress.log(
    `backbone ${backbone.source}: frozen up to ${plan.boundary} [${plan.boundaryDims.join('×')}], ` +
      `${plan.trainableConvs} conv layers re-trained, embedding ${plan.featureTensor}; tfjs backend ${backendName}`,
  );

  const store = options.store ? openStore(options.store, { cwd }) : undefined;
  const disposables: { dispose(): void }[] = [];
  try {
    // 1. Frozen prefix activations (one ORT session for all three sets; cached per image).
    mark = performance.now();
    const all = [...train.samples, ...val.samples, ...(test ? test.samples : [])];
    const fromDisk = streamed && plan.trainableConvs > 0;
    const extracted = await extractFeatures(frozenPrefix(backbone, plan), all, {
      cacheDir: options.cacheDir ?? defaultFeatureCacheDir(cwd),
      device: options.device,
      progress,
      label: 'frozen prefix',
      store,
      // Fine-tuning streamed data reads the (spatial, large) boundary activations back per batch.
      inMemory: !fromDisk,
    });
    lap('features', mark);
    // Streamed images' shapes are known once decoded (images that came from a cache are not).
    const { shapes, ...featureStats } = extracted.stats;
    if (shapes) {
      for (const w of imageShapeWarnings(shapes)) warn(w);
      const upscaledStreamed = upscaleWarningFromSides(
        shapes.map((s) => Math.max(s.width, s.height)),
        backbone.preprocess,
      );
      if (upscaledStreamed) warn(upscaledStreamed);
    }
    const itemDims = plan.boundaryDims;
    const itemSize = itemDims.reduce((a, b) => a * b, 1);
    const nTr = train.samples.length;
    const nVal = val.samples.length;
    // From disk, the constant-feature check looks at the first training rows only.
    const probed = fromDisk ? Math.min(nTr, FROM_DISK_PROBE_ROWS) : nTr;
    const probe = fromDisk ? new Float32Array(probed * itemSize) : extracted.data;
    for (let i = 0; fromDisk && i < probed; i++)
      extracted.cache.read(train.samples[i]!.id, probe, i * itemSize);
    const flat = constantFeatureWarning(probe, probed, itemSize, plan.boundary);
    if (flat) warn(flat);
    const itemShape = channelsLastShape(itemDims);
    const hwc = fromDisk ? new Float32Array(0) : chwToHwc(extracted.data, itemDims);
    const rows = (from: number, samples: readonly Sample[]): TensorData['x'] =>
      fromDisk
        ? cachedRows(
            extracted.cache,
            samples.map((s) => s.id),
            itemDims,
          )
        : hwc.subarray(from * itemSize, (from + samples.length) * itemSize);
    const trainX = { x: rows(0, train.samples), y: yTrain, itemShape };
    const valX = { x: rows(nTr, val.samples), y: yVal, itemShape };
    const heldX = test ? { x: rows(nTr + nVal, test.samples), y: yHeld, itemShape } : valX;

    // 2. Trainable part: rebuilt suffix + new head, head phase then fine-tune phase.
    mark = performance.now();
    const parts: TrainableParts = buildTrainable({
      nodes: plan.keras?.nodes ?? [],
      boundary: plan.keras?.boundary ?? null,
      inputShape: itemShape,
      classes,
      head,
      seed,
    });
    disposables.push(parts.model);
    if (plan.keras) plan.keras.model.dispose();
    const forward = transferForward(parts, head);
    const classWeights = balancedClassWeights(yTrain, classes);
    const history: EpochRecord[] = [];
    const onEpoch = (e: EpochRecord) => {
      history.push(e);
      // Head epochs take milliseconds: a line every 10 keeps logs readable.
      if (e.phase === 'head' && e.epoch % 10 !== 0 && e.epoch !== 1) return;
      progress.log(
        `${e.phase} epoch ${e.epoch}: loss ${e.loss.toFixed(4)} acc ${e.acc.toFixed(3)} ` +
          `val_loss ${e.valLoss?.toFixed(4)} val_acc ${e.valAcc?.toFixed(3)}`,
      );
    };
    const { lr, batchSize, patience, epochs, fineTuneEpochs } = transferHyper(options, plan.trainableConvs);
    progress.log(
      `head: ${auto?.classMeans ? 'class means (prototype)' : describeHead(head)}; ${nTr} train / ${nVal} validation images, ${classes} classes`,
    );
    if (auto?.classMeans) {
      // Class means read the frozen features, which stay in memory when nothing is re-trained.
      if (!(trainX.x instanceof Float32Array))
        throw new EdgetuneError('internal', 'class-mean head needs in-memory features');
      setClassMeanHead(parts.output, trainX.x, yTrain, Array.from(yTrain.keys()), itemSize, classes);
    } else {
      await trainLoop({
        phase: 'head',
        forward,
        variables: parts.headVariables,
        model: parts.model,
        train: trainX,
        val: valX,
        classes,
        classWeights,
        epochs,
        batchSize,
        lr,
        patience,
        seed,
        onEpoch,
      });
    }
    if (fineTuneEpochs > 0 && !auto?.classMeans) {
      await trainLoop({
        phase: 'fine-tune',
        forward,
        variables: [...parts.suffixVariables, ...parts.headVariables],
        model: parts.model,
        train: trainX,
        val: valX,
        classes,
        classWeights,
        epochs: fineTuneEpochs,
        batchSize,
        lr: lr / 10,
        patience,
        seed: seed + 1,
        onEpoch,
      });
    }
    const transferVal = evaluatePredictions(predictProbs(forward, valX, classes), yVal, labels);
    const transferHeldProbs = test ? predictProbs(forward, heldX, classes) : undefined;
    const transfer: ModelOutcome = {
      kind: 'transfer',
      val: transferVal,
      heldOut: test ? evaluatePredictions(transferHeldProbs!, yHeld, labels) : transferVal,
      history,
      seconds: (performance.now() - mark) / 1000,
    };
    lap('fit', mark);
    const rate = throughput({
      images: all.length,
      streamed,
      listSeconds: timings.data ?? 0,
      featureSeconds: timings.features ?? 0,
      fitSeconds: timings.fit ?? 0,
      features: featureStats,
      activationsFromDisk: fromDisk,
    });
    progress.log(describeThroughput(rate));
    progress.log(`transfer: held-out accuracy ${(transfer.heldOut.accuracy * 100).toFixed(2)}%`);

    // 3. Baseline from scratch on the same images.
    let baseline: ModelOutcome | undefined;
    let scratch: Baseline | undefined;
    if (options.baseline === 'scratch' || auto?.scratch) {
      mark = performance.now();
      const bHistory: EpochRecord[] = [];
      const channels: 1 | 3 = backbone.preprocess.channels;
      scratch = await trainBaseline({
        train: { images: train.samples.map((s) => s.image), y: yTrain },
        val: { images: val.samples.map((s) => s.image), y: yVal },
        classes,
        side: Math.max(backbone.preprocess.width, backbone.preprocess.height),
        channels,
        seed,
        classWeights,
        batchSize,
        onEpoch: (e) => {
          bHistory.push(e);
          if (e.epoch % 10 === 0) {
            progress.log(
              `baseline epoch ${e.epoch}: loss ${e.loss.toFixed(4)} val_acc ${e.valAcc?.toFixed(3)}`,
            );
          }
        },
      });
      disposables.push(scratch.model);
      const bVal = evaluatePredictions(scratch.predict(val.samples.map((s) => s.image)), yVal, labels);
      baseline = {
        kind: 'baseline',
        val: bVal,
        heldOut: test
          ? evaluatePredictions(scratch.predict(test.samples.map((s) => s.image)), yHeld, labels)
          : bVal,
        history: bHistory,
        seconds: (performance.now() - mark) / 1000,
      };
      lap('baseline', mark);
    }
    const baselineWins = baseline ? baseline.heldOut.accuracy > transfer.heldOut.accuracy : undefined;
    const verdict = baseline ? describeVerdict(transfer, baseline) : undefined;
    if (verdict) progress.log(verdict);

    // 4. Select, assemble, parity gate.
    mark = performance.now();
    const selected = auto
      ? auto.scratch
        ? 'baseline'
        : 'transfer'
      : selectModel(options.select === 'best' ? 'best' : 'transfer', transfer, baseline);
    const metrics: Record<string, number> = {
      accuracy: (selected === 'baseline' ? baseline! : transfer).heldOut.accuracy,
      valAccuracy: (selected === 'baseline' ? baseline! : transfer).val.accuracy,
      macroF1: (selected === 'baseline' ? baseline! : transfer).heldOut.macroF1,
      transferAccuracy: transfer.heldOut.accuracy,
      ...(baseline ? { baselineAccuracy: baseline.heldOut.accuracy } : {}),
      trainSamples: nTr,
      valSamples: nVal,
      testSamples: heldOutSamples.length,
    };
    // Parity gate inputs: the validation images, plus up to 64 test images when there is a test set.
    // Streamed data is decoded again for the gate, so it takes the first STREAMED_GATE_IMAGES.
    const extraTest = test ? Math.min(64, test.samples.length) : 0;
    const gateVal = streamed ? Math.min(STREAMED_GATE_IMAGES, nVal) : nVal;
    const gateImages: RawImage[] = [
      ...val.samples.slice(0, gateVal).map((s) => s.image),
      ...(test ? test.samples.slice(0, extraTest).map((s) => s.image) : []),
    ];
    let model: onnx.ModelProto;
    let expected: Float32Array;
    let exportSpec: PreprocessSpec;
    let embeddingDim: number;
    const metadata: Record<string, string> = {
      'edgetune.labels': JSON.stringify(labels),
      'edgetune.metrics': JSON.stringify(metrics),
      'edgetune.trained': JSON.stringify({ name: options.name, data: data.spec, seed, selected }),
    };
    if (selected === 'transfer') {
      embeddingDim = parts.featureModel ? (parts.featureModel.outputs[0]!.shape[1] as number) : itemSize;
      exportSpec = backbone.preprocess;
      metadata['edgetune.preprocess'] = JSON.stringify(exportSpec);
      metadata['edgetune.backbone'] = JSON.stringify({
        source: backbone.source,
        sha256: backbone.sha256,
        boundary: plan.boundary,
        featureTensor: plan.featureTensor,
      });
      model = assembleTransferModel({
        backbone: backbone.model,
        boundary: plan.boundary,
        trainable: parts.model,
        featureLayer: parts.featureLayer,
        classes,
        embeddingDim,
        metadata,
      });
      const valProbs = predictProbs(forward, valX, classes).subarray(0, gateVal * classes);
      const testProbs =
        extraTest > 0 ? transferHeldProbs!.subarray(0, extraTest * classes) : new Float32Array();
      expected = concat(valProbs, testProbs);
    } else {
      embeddingDim = scratch!.model.getLayer('features').outputShape[1] as number;
      exportSpec = scratch!.preprocess;
      metadata['edgetune.preprocess'] = JSON.stringify(exportSpec);
      metadata['edgetune.backbone'] = JSON.stringify({ source: `scratch:${scratch!.arch}` });
      model = assembleStandaloneModel(scratch!.model, 'features', classes, embeddingDim, metadata);
      expected = scratch!.predict(gateImages);
    }
    if (options.tamperExport) model = options.tamperExport(model);
    const bytes = encodeModel(model);
    const parity = await checkParity(bytes, gateImages, exportSpec, expected, classes, embeddingDim);
    lap('export', mark);
    if (!parity.passed) {
      throw new EdgetuneError(
        'parity_failed',
        `parity gate failed: the exported ONNX differs from the tfjs model by max |Δp| = ` +
          `${parity.maxAbsDiff.toExponential(2)} (> ${parity.tolerance}) on ${parity.samples} validation images; ` +
          'nothing was written or published',
      );
    }
    progress.log(
      `parity gate: max |Δp| ${parity.maxAbsDiff.toExponential(2)} on ${parity.samples} images (≤ ${parity.tolerance})`,
    );
    const variants = await prepareEdgeVariants(bytes, gateImages, exportSpec, expected, classes);
    for (const note of variants.notes) progress.log(note);
    if ('maxAbsDiff' in variants.engine) {
      progress.log(
        `engine parity: max |Δp| ${variants.engine.maxAbsDiff.toExponential(2)} (engines: ${variants.engines.join(', ')})`,
      );
    }

    // 5. Write the export.
    mark = performance.now();
    const outDir = path.resolve(
      cwd,
      options.out ?? path.join('.edgetune', 'runs', `${options.name}-${timestamp()}`),
    );
    fs.mkdirSync(outDir, { recursive: true });
    const manifest = buildManifest({
      name: options.name,
      inputName: model.graph?.input?.[0]?.name ?? 'input',
      modelBytes: bytes,
      labels,
      preprocess: exportSpec,
      embeddingDim,
      backbone:
        selected === 'transfer'
          ? { source: backbone.source, sha256: backbone.sha256, featureTensor: plan.featureTensor }
          : { source: `scratch:${scratch!.arch}` },
      datasetDigest: await datasetDigest(train),
      metrics: { ...metrics, parityMaxAbsDiff: parity.maxAbsDiff },
      parent: options.parent ?? null,
      optimized: variants.optimized
        ? { file: variants.optimized.file, sha256: variants.optimized.sha256, size: variants.optimized.size }
        : null,
      engines: variants.engines,
    });
    const files = {
      model: path.join(outDir, 'model.onnx'),
      manifest: path.join(outDir, 'manifest.json'),
      metrics: path.join(outDir, 'metrics.json'),
      report: path.join(outDir, 'report.html'),
    };
    const result: TrainResult = {
      name: options.name,
      outDir,
      files,
      selected,
      accuracy: metrics.accuracy!,
      heldOutSet: test ? 'test' : 'validation',
      transfer,
      baseline,
      baselineWins,
      verdict,
      parity,
      features: featureStats,
      plan: {
        boundary: plan.boundary,
        featureTensor: plan.featureTensor,
        trainableConvs: plan.trainableConvs,
        embeddingDim,
        head,
      },
      backbone: { source: backbone.source, sha256: backbone.sha256 },
      counts: { train: nTr, val: nVal, test: test ? test.samples.length : 0, classes },
      labels,
      timings,
      throughput: rate,
      warnings,
      ...(auto ? { selection: { winner: auto.winner, search: auto.selection ?? null } } : {}),
    };
    const chosen = selected === 'baseline' ? baseline! : transfer;
    fs.writeFileSync(files.model, bytes);
    if (variants.optimized)
      fs.writeFileSync(path.join(outDir, variants.optimized.file), variants.optimized.bytes);
    fs.writeFileSync(files.metrics, `${JSON.stringify(metricsJson(result), null, 2)}\n`);
    fs.writeFileSync(
      files.report,
      renderReport(
        result,
        heldOutSamples.map((s, i) => ({
          // A getter: streamed samples decode on read, and the report shows only a few.
          get image() {
            return s.image;
          },
          label: yHeld[i]!,
          predicted: chosen.heldOut.predicted[i]!,
        })),
      ),
    );
    const given =
      // A new search (retraining with a policy that asks for one) records its own choice.
      options.recipe && auto?.selection
        ? {
            ...options.recipe,
            options: { ...options.recipe.options, select: 'auto' as const, chosen: auto.winner },
          }
        : options.recipe;
    const recipe =
      given !== undefined
        ? given
        : recipeFromOptions(options, {
            head: typeof options.head === 'object' ? options.head : parseHeadSpec(options.head),
            seed,
            cwd,
            backboneSha256: backbone.sha256,
            chosen: auto?.winner,
          });
    if (recipe) fs.writeFileSync(path.join(outDir, RECIPE_FILE), `${JSON.stringify(recipe, null, 2)}\n`);
    // The manifest last: its presence marks a complete export.
    fs.writeFileSync(files.manifest, `${JSON.stringify(manifest, null, 2)}\n`);
    lap('write', mark);
    if (options.quantize === 'int8') {
      mark = performance.now();
      result.int8 = await addInt8ToExport(outDir, bytes, {
        calibration: train.samples.map((s) => s.image),
        heldOut: { images: heldOutSamples.map((s) => s.image), labels: yHeld },
        preprocess: exportSpec,
        maxAccuracyDropPoints: options.maxAccuracyDropPoints,
        log: progress.log,
      });
      lap('quantize', mark);
    }

    if (store) {
      mark = performance.now();
      const published = await publishExportDir(store, options.name, outDir, { onProgress: progress.log });
      for (const w of published.warnings) progress.log(w);
      result.version = published.version;
      result.store = store.url;
      lap('publish', mark);
    }
    timings.total = Number(((performance.now() - t0) / 1000).toFixed(3));
    result.throughput = finalThroughput(rate);
    return result;
  } finally {
    for (const d of disposables) d.dispose();
  }
}

/** The recipe of a run from specs (an in-memory dataset cannot be re-read later: none). */
function recipeFromOptions(
  o: TrainOptions,
  ctx: { head: HeadSpec; seed: number; cwd: string; backboneSha256: string; chosen?: ChosenConfiguration },
): TrainingRecipe | null {
  if (typeof o.data !== 'string' || (o.testData !== undefined && typeof o.testData !== 'string')) return null;
  return buildRecipe({
    backbone: canonicalBackbone(o.backbone),
    backboneSha256: ctx.backboneSha256,
    data: o.data,
    testData: o.testData ?? null,
    cwd: ctx.cwd,
    options: {
      input: o.input,
      featureLayer: o.featureLayer,
      trainable: o.trainable,
      head: ctx.head,
      epochs: o.epochs,
      fineTuneEpochs: o.fineTuneEpochs,
      lr: o.lr,
      valSplit: o.valSplit,
      seed: ctx.seed,
      batchSize: o.batchSize,
      patience: o.patience,
      baseline: o.baseline,
      // A search's winner is recorded as the choice: retraining reuses it (select stays auto).
      select: ctx.chosen ? 'auto' : o.select,
      ...(ctx.chosen ? { chosen: ctx.chosen } : {}),
      quantize: o.quantize,
      maxAccuracyDropPoints: o.maxAccuracyDropPoints,
    },
  });
}

function concat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function selectModel(
  select: 'transfer' | 'best',
  transfer: ModelOutcome,
  baseline: ModelOutcome | undefined,
): 'transfer' | 'baseline' {
  if (select !== 'best' || !baseline) return 'transfer';
  const t = transfer.val;
  const b = baseline.val;
  // Better validation accuracy wins; a tie goes to the lower validation loss.
  if (b.accuracy > t.accuracy || (b.accuracy === t.accuracy && b.loss < t.loss)) return 'baseline';
  return 'transfer';
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

export function describeVerdict(transfer: ModelOutcome, baseline: ModelOutcome): string {
  const t = transfer.heldOut.accuracy;
  const b = baseline.heldOut.accuracy;
  const gap = ((t - b) * 100).toFixed(1);
  if (b > t) {
    return (
      `The baseline trained from scratch wins: ${pct(b)} vs ${pct(t)} with transfer (${gap} points). ` +
      'This backbone does not transfer to this task (negative transfer); use --select best or another backbone.'
    );
  }
  if (b === t) return `Transfer and the scratch baseline tie at ${pct(t)}.`;
  return `Transfer wins: ${pct(t)} vs ${pct(b)} for the scratch baseline (+${gap} points).`;
}

function metricsJson(r: TrainResult): Record<string, unknown> {
  const outcome = (o: ModelOutcome) => ({
    accuracy: o.heldOut.accuracy,
    macroF1: o.heldOut.macroF1,
    loss: o.heldOut.loss,
    valAccuracy: o.val.accuracy,
    valLoss: o.val.loss,
    perClass: o.heldOut.perClass,
    confusion: o.heldOut.confusion,
    history: o.history,
    seconds: o.seconds,
  });
  return {
    name: r.name,
    selected: r.selected,
    accuracy: r.accuracy,
    heldOutSet: r.heldOutSet,
    labels: r.labels,
    counts: r.counts,
    transfer: outcome(r.transfer),
    baseline: r.baseline ? outcome(r.baseline) : undefined,
    baselineWins: r.baselineWins,
    verdict: r.verdict,
    parity: r.parity,
    features: r.features,
    plan: r.plan,
    backbone: r.backbone,
    timings: r.timings,
    throughput: r.throughput,
    warnings: r.warnings,
    selection: r.selection,
  };
}
