/**
 * The retrain step of `edgetune worker`: for a job on model M,
 *   stable version + its training recipe (training.json) → base dataset + ALL accepted feedback
 *   (a fixed slice of TRUSTED feedback images held out) → the poisoned-feedback check on the new
 *   untrusted feedback (agreement with the stable's and live canary's predictions) → runTraining
 *   on the merged dataset (same backbone, options and seed; frozen-prefix features come from the
 *   local cache, else from the store's feature shards, else are computed) → publish the
 *   candidate UNROUTED → evaluate candidate, stable and live canary from the store with
 *   onnxruntime-node on the same holdout (base test set + held-out trusted feedback).
 * The worker gates on the returned metrics (shared/jobs/gate.ts); nothing here touches routing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EdgetuneError } from '../../shared/errors.ts';
import type { RetrainOutcomeInput } from '../../shared/jobs/schema.ts';
import { readRouting } from '../../shared/routing/operations.ts';
import { requireManifest } from '../../shared/registry/versions.ts';
import { CURRENT_RESIZE } from '../../shared/manifest/preprocess.ts';
import { decodeTargetFor } from '../../shared/preprocess/preprocess.ts';
import { readDataset } from '../datasets/stream.ts';
import { evaluatePublishedVersion, subsetAccuracy, type VersionEvaluation } from '../evaluate/published.ts';
import { defaultFeatureCacheDir } from '../features/cache.ts';
import { localBackbone } from '../backbones/store-copy.ts';
import { isHubSource } from '../backbones/hub/hub-ref.ts';
import { publishExportDir } from '../registry/publish-dir.ts';
import type { BackendRequest } from '../tf/backend.ts';
import { buildRecipe, RECIPE_FILE, readRecipe } from '../train/recipe.ts';
import { silentProgress } from '../train/progress.ts';
import { runTraining } from '../train/run.ts';
import {
  combineDataset,
  DEFAULT_HOLDOUT_FRACTION,
  type LabelledImage,
  loadFeedbackData,
  mergedLabels,
} from './feedback-data.ts';
import type { RetrainContext, RetrainFunction } from './types.ts';
import type { ObjectStore } from '../../shared/store/types.ts';

export interface RetrainOptions {
  /** Share of feedback images (by sha256) held out for evaluation; default 0.2. */
  holdoutFraction?: number;
  /** Scratch space for the export; default a fresh folder under the OS temp dir, removed after. */
  workDir?: string;
  /** Frozen-prefix feature cache; default .edgetune/cache/features (or $EDGETUNE_CACHE_DIR). */
  cacheDir?: string;
  /** tfjs backend for the trainable part (default auto). */
  backend?: BackendRequest;
}

/** The real retrain step, with its knobs. */
export function createRetrain(options: RetrainOptions = {}): RetrainFunction {
  return (job, ctx) => retrain(job.model, job.id, ctx, options);
}

/** `edgetune worker`'s default retrain step (training/jobs/default-retrain.ts). */
export const retrainFromPipeline: RetrainFunction = createRetrain();

async function retrain(
  model: string,
  jobId: string,
  ctx: RetrainContext,
  options: RetrainOptions,
): Promise<RetrainOutcomeInput> {
  const t0 = performance.now();
  const { store, log, signal } = ctx;
  const routing = (await readRouting(store, model))?.doc;
  const stable = routing?.stable;
  if (!stable) throw new EdgetuneError('conflict', `${model} has no stable version to retrain from`);
  const stableManifest = await requireManifest(store, model, stable);
  const recipe = await readRecipe(store, model, stable);
  if (!recipe) {
    throw new EdgetuneError(
      'bad_request',
      `${model} ${stable} has no ${RECIPE_FILE} (it was not trained by edgetune train), so it cannot be retrained; ` +
        'train and publish it with edgetune train --store first',
    );
  }
  const cwd = fs.existsSync(recipe.cwd) ? recipe.cwd : process.cwd();
  const seed = recipe.options.seed;
  log(
    `retraining ${model} from ${stable}: backbone ${recipe.backbone}, data ${recipe.data}` +
      `${recipe.testData ? `, test ${recipe.testData}` : ''}, seed ${seed}`,
  );

  // Base data, then feedback (split by image hash into train / fixed holdout).
  // The candidate records the current resize (training/train/backbone.ts): decode towards the
  // backbone's input size with the shrink-on-load that preprocessing implies, whatever the stable had.
  const { target } = decodeTargetFor({ ...stableManifest.preprocess, resize: CURRENT_RESIZE });
  const load = { seed, cwd, ...(target ? { target } : {}), log };
  // Image folders are listed, not loaded: a large base costs memory per file name, and its
  // pictures are decoded batch by batch during feature extraction, as `edgetune train` does.
  const base = await readDataset(recipe.data, load);
  const baseTest = recipe.testData ? await readDataset(recipe.testData, load) : null;
  signal.throwIfAborted();
  const fraction = options.holdoutFraction ?? DEFAULT_HOLDOUT_FRACTION;
  const feedback = await loadFeedbackData(store, model, {
    holdoutFraction: fraction,
    signal,
    target,
    since: ctx.since,
  });
  log(
    `feedback: ${feedback.records} accepted samples (${feedback.trusted} trusted) → ${feedback.train.length} train, ` +
      `${feedback.holdout.length} held out (${fraction * 100}% of trusted images by image hash); ${feedback.fresh.length} new untrusted`,
  );

  // New classes (policy allowed) need ≥ 2 training images: one goes to the validation split.
  const counts = new Map<string, number>();
  for (const s of feedback.train) counts.set(s.label, (counts.get(s.label) ?? 0) + 1);
  const trainable = (s: LabelledImage) => base.labels.includes(s.label) || (counts.get(s.label) ?? 0) >= 2;
  const dropped = [...feedback.train, ...feedback.holdout].filter((s) => !trainable(s));
  if (dropped.length > 0) {
    log(
      `left out ${dropped.length} feedback samples of new classes with < 2 training images: ${[...new Set(dropped.map((s) => s.label))].join(', ')}`,
    );
  }
  const fbTrain = feedback.train.filter(trainable);
  const fbHoldout = feedback.holdout.filter(trainable);
  const labels = mergedLabels(base.labels, fbTrain);
  const holdout = combineDataset(
    'holdout',
    `${recipe.testData ?? '(no base test set)'} + ${fbHoldout.length} held-out feedback`,
    labels,
    { base: baseTest ?? undefined, feedback: fbHoldout },
  );
  if (holdout.samples.length === 0) {
    throw new EdgetuneError(
      'bad_request',
      `${model}: no holdout to compare the candidate with ${stable} on (the recipe has no test set and no trusted feedback image is held out yet: send labels with the edge's REVIEWER_TOKEN or edgetune feedback import --trusted)`,
    );
  }
  const heldIds = new Set(holdout.samples.map((s) => s.id));
  const train = combineDataset(
    base.name,
    `${recipe.data} + ${fbTrain.length} feedback`,
    labels,
    { base, feedback: fbTrain },
    heldIds,
  );
  // combineDataset keeps base samples first: holdout = [base test..., held-out feedback...].
  const baseTestCount = baseTest?.samples.length ?? 0;
  log(
    `training set ${train.samples.length} images (${base.samples.length} base + ${fbTrain.length} feedback, ` +
      `${base.samples.length + fbTrain.length - train.samples.length} dropped as holdout duplicates); ` +
      `holdout ${holdout.samples.length} (${baseTestCount} base test + ${fbHoldout.length} feedback)`,
  );
  signal.throwIfAborted();

  // The references: stable and live canaries, measured on the trusted holdout before training so
  // the feedback check can weigh their agreement by their accuracy.
  const device = ctx.device.device;
  const canaries = (routing?.candidates ?? []).map((c) => c.version);
  const references = new Map<string, VersionEvaluation>();
  for (const v of [stable, ...canaries]) {
    references.set(v, await evaluatePublishedVersion(store, model, v, holdout, { device }));
  }
  await screenFreshFeedback(store, model, feedback.fresh, labels, references, stable, ctx);
  signal.throwIfAborted();

  const ownWorkDir = options.workDir === undefined;
  const workDir = options.workDir ?? fs.mkdtempSync(path.join(os.tmpdir(), `edgetune-retrain-${jobId}-`));
  try {
    const cacheRoot = path.dirname(options.cacheDir ?? defaultFeatureCacheDir());
    const result = await runTraining({
      ...recipe.options,
      backbone: await localBackbone(store, recipe, cacheRoot, log),
      // A hub backbone is downloaded again where the cache lacks it: the same bytes or nothing.
      // (A local file that changed only warns, below.)
      backboneSha256: isHubSource(recipe.backbone) ? (recipe.backboneSha256 ?? undefined) : undefined,
      data: train,
      testData: holdout,
      name: model,
      cwd,
      out: path.join(workDir, 'export'),
      cacheDir: options.cacheDir ?? defaultFeatureCacheDir(),
      // Activations `edgetune features --shard` uploaded for the base: fetched, not recomputed.
      featureStore: store,
      device: ctx.device.device,
      backend: options.backend,
      parent: stable,
      searchAgain: ctx.policy.searchAgain,
      progress: { ...silentProgress, log },
      recipe: buildRecipe({
        backbone: recipe.backbone,
        backboneSha256: recipe.backboneSha256,
        data: recipe.data,
        testData: recipe.testData,
        cwd: recipe.cwd,
        options: recipe.options,
        feedback: {
          records: feedback.records,
          train: fbTrain.length,
          holdout: fbHoldout.length,
          newest: feedback.newest,
        },
      }),
    });
    if (recipe.backboneSha256 && result.backbone.sha256 !== recipe.backboneSha256) {
      log(
        `warning: backbone ${recipe.backbone} changed since ${stable} (sha256 ${result.backbone.sha256.slice(0, 12)}… vs ${recipe.backboneSha256.slice(0, 12)}…)`,
      );
    }
    signal.throwIfAborted();
    const published = await publishExportDir(store, model, result.outDir, { onProgress: log });
    const candidate = published.version;
    log(`published candidate ${model} ${candidate} (unrouted)`);

    const cand = await evaluatePublishedVersion(store, model, candidate, holdout, { device });
    const stab = references.get(stable)!;
    const feedbackIdx = range(baseTestCount, holdout.samples.length);
    const baseIdx = range(0, baseTestCount);
    const metrics = (r: VersionEvaluation) =>
      withoutNull({
        accuracy: r.evaluation.accuracy,
        macroF1: r.evaluation.macroF1,
        loss: r.evaluation.loss,
        samples: r.evaluation.samples,
        baseTestAccuracy: subsetAccuracy(r, holdout, baseIdx),
        feedbackAccuracy: subsetAccuracy(r, holdout, feedbackIdx),
      });
    log(
      `holdout (${holdout.samples.length} images): ${candidate} accuracy ${pct(cand.evaluation.accuracy)}, ` +
        `stable ${stable} ${pct(stab.evaluation.accuracy)}` +
        canaries.map((v) => `, canary ${v} ${pct(references.get(v)!.evaluation.accuracy)}`).join(''),
    );
    return {
      candidateVersion: candidate,
      candidateMetrics: metrics(cand),
      stableMetrics: metrics(stab),
      stableVersion: stable,
      canaryMetrics: Object.fromEntries(canaries.map((v) => [v, metrics(references.get(v)!)])),
      report: {
        labels,
        train: { images: result.counts.train, validation: result.counts.val, base: base.samples.length },
        feedback: {
          records: feedback.records,
          trusted: feedback.trusted,
          fresh: feedback.fresh.length,
          train: fbTrain.length,
          holdout: fbHoldout.length,
        },
        holdout: { images: holdout.samples.length, baseTest: baseTestCount, feedback: fbHoldout.length },
        features: result.features,
        parity: result.parity,
        trainingTimings: result.timings,
        seconds: Number(((performance.now() - t0) / 1000).toFixed(3)),
      },
    };
  } finally {
    if (ownWorkDir) fs.rmSync(workDir, { recursive: true, force: true });
  }
}

/**
 * Measures how the new untrusted feedback's labels agree with each reference model's predictions
 * and hands that to the worker's check, which stops the job (and quarantines the batch) when the
 * labels look poisoned.
 */
async function screenFreshFeedback(
  store: ObjectStore,
  model: string,
  fresh: readonly LabelledImage[],
  labels: readonly string[],
  references: ReadonlyMap<string, VersionEvaluation>,
  stable: string,
  ctx: RetrainContext,
): Promise<void> {
  const { policy } = ctx;
  const judged =
    fresh.length > 0 && policy.minFeedbackAgreement > 0 && fresh.length >= policy.minAgreementSamples;
  if (!judged) {
    await ctx.screenFeedback(
      fresh.map((s) => s.record),
      [],
    );
    return;
  }
  const batch = combineDataset(
    'new feedback',
    'untrusted feedback since the last version',
    mergedLabels(labels, fresh),
    {
      feedback: fresh,
    },
  );
  const refs = [];
  for (const [version, onHoldout] of references) {
    const r = await evaluatePublishedVersion(store, model, version, batch, { device: ctx.device.device });
    const agreeing = r.predicted.filter((p, i) => p === batch.labels[batch.samples[i]!.label]).length;
    refs.push({
      version,
      role: version === stable ? ('stable' as const) : ('canary' as const),
      agreeing,
      holdoutAccuracy: onHoldout.evaluation.accuracy,
      chance: 1 / onHoldout.labels.length,
    });
  }
  await ctx.screenFeedback(
    fresh.map((s) => s.record),
    refs,
  );
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}

function withoutNull(o: Record<string, number | null>): Record<string, number> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null)) as Record<string, number>;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}
