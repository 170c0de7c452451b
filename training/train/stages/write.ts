/**
 * Stage 6 of `runTraining`: write the export directory (model, optimized variant, metrics,
 * report, recipe) with the manifest last, since its presence marks a complete export.
 */
import fs from 'node:fs';
import path from 'node:path';
import { datasetDigest } from '../../datasets/index.ts';
import { buildManifest } from '../../export/manifest.ts';
import { type HeadSpec, parseHeadSpec } from '../../fit/head.ts';
import { renderReport } from '../../report/html.ts';
import type { ChosenConfiguration } from '../../select/auto.ts';
import type { ModelOutcome, TrainOptions, TrainResult } from '../options.ts';
import { buildRecipe, canonicalBackbone, RECIPE_FILE, type TrainingRecipe } from '../recipe.ts';
import type { Throughput } from '../throughput.ts';
import type { BaselineFit } from './baseline.ts';
import type { StageContext } from './context.ts';
import type { GatedExport } from './export.ts';
import type { FeatureSet } from './features.ts';
import type { TransferFit } from './fit.ts';
import type { TrainInputs } from './inputs.ts';

export interface WriteInputs {
  inputs: TrainInputs;
  features: FeatureSet;
  transfer: TransferFit;
  baseline?: BaselineFit;
  verdict?: string;
  exported: GatedExport;
  rate: Throughput;
}

function timestamp(): string {
  return new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

export async function writeExport(ctx: StageContext, w: WriteInputs): Promise<TrainResult> {
  const { options, cwd, seed } = ctx;
  const { inputs, features, transfer, exported } = w;
  const { backbone, plan, auto, train, test, labels, classes, heldOutSamples, yHeld } = inputs;
  const { selected, model, bytes, exportSpec, embeddingDim, parity, variants, metrics } = exported;
  const baseline = w.baseline?.outcome;
  const mark = performance.now();
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
        : { source: `scratch:${w.baseline!.scratch.arch}` },
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
    heldOutSet: test ? 'test' : inputs.fitsAllLabelled ? 'cross-validation' : 'validation',
    refit: selected === 'transfer' ? transfer.refit : w.baseline?.refit,
    transfer: transfer.outcome,
    baseline,
    baselineWins: baseline ? baseline.heldOut.accuracy > transfer.outcome.heldOut.accuracy : undefined,
    verdict: w.verdict,
    parity,
    features: features.stats,
    plan: {
      boundary: plan.boundary,
      featureTensor: plan.featureTensor,
      trainableConvs: plan.trainableConvs,
      embeddingDim,
      head: inputs.head,
    },
    backbone: { source: backbone.source, sha256: backbone.sha256 },
    counts: {
      train: train.samples.length,
      val: inputs.val.samples.length,
      test: test ? test.samples.length : 0,
      heldOut: heldOutSamples.length,
      classes,
    },
    labels,
    timings: ctx.timings,
    throughput: w.rate,
    warnings: ctx.warnings,
    ...(auto ? { selection: { winner: auto.winner, search: auto.selection ?? null } } : {}),
  };
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
        predicted: exported.chosen.heldOut.predicted[i]!,
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
  ctx.lap('write', mark);
  return result;
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
    refit: r.refit,
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
