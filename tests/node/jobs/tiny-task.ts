/**
 * A tiny but real retraining task for the job tests. Images are 4×4 grey PNGs; the true label is
 * which half (left/right) is brighter. Models are ONNX graphs built with the shared GraphBuilder
 * (Flatten → Gemm → Softmax) and published through the real registry; the retrain step fits a
 * nearest-centroid classifier on the accepted feedback and evaluates candidate and stable with
 * onnxruntime-node on a holdout. Every metric is measured, none is asserted into existence.
 */
import { createHash } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { encode as encodePng } from 'fast-png';
import * as ort from 'onnxruntime-node';
import type { FeedbackRecord } from '../../../shared/feedback/schema.ts';
import { listFeedback, readFeedbackImage, saveFeedback } from '../../../shared/feedback/store.ts';
import type { RetrainOutcomeInput } from '../../../shared/jobs/schema.ts';
import type { ModelManifestInput } from '../../../shared/manifest/manifest.ts';
import type { PreprocessSpec } from '../../../shared/manifest/preprocess.ts';
import { float, GraphBuilder, int } from '../../../shared/onnx/builder.ts';
import { preprocessBytes } from '../../../shared/preprocess/preprocess.ts';
import { publishVersion } from '../../../shared/registry/publish.ts';
import { readRouting } from '../../../shared/routing/operations.ts';
import { requireManifest } from '../../../shared/registry/versions.ts';
import { createRng, gaussian, type Rng } from '../../../shared/random.ts';
import { keys } from '../../../shared/store/keys.ts';
import type { ObjectStore } from '../../../shared/store/types.ts';
import type { RetrainFunction } from '../../../training/jobs/types.ts';
import { FileStore } from '../../../shared/store/node/file.ts';

export const LABELS = ['left', 'right'];
const SIDE = 4;
const DIM = SIDE * SIDE;
export const SPEC: PreprocessSpec = {
  width: SIDE,
  height: SIDE,
  channels: 1,
  layout: 'NCHW',
  resize: 'bilinear',
  scale: 1,
  mean: [0],
  std: [1],
  invert: false,
};

export async function tempStore(prefix = 'edgetune-jobs-'): Promise<{ dir: string; store: FileStore }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, store: new FileStore(path.join(dir, 'store')) };
}

export interface Sample {
  png: Uint8Array;
  label: string;
}

/** One image: the brighter half is chosen by `label`, with seeded noise. */
export function sampleImage(rng: Rng, label: string): Uint8Array {
  const data = new Uint8Array(DIM);
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      const bright = x < SIDE / 2 === (label === 'left');
      const v = (bright ? 170 : 85) + gaussian(rng) * 30;
      data[y * SIDE + x] = Math.max(0, Math.min(255, Math.round(v)));
    }
  }
  return encodePng({ width: SIDE, height: SIDE, data, channels: 1, depth: 8 });
}

export function makeSamples(seed: number, n: number): Sample[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, (_, i) => {
    const label = LABELS[i % 2]!;
    return { png: sampleImage(rng, label), label };
  });
}

/** Flatten → Gemm(W, b) → Softmax; the 16 pixels are the embedding. */
export function buildLinearModel(weights: Float32Array, bias: Float32Array): Uint8Array {
  const g = new GraphBuilder({ name: 'tiny-linear', producer: 'edgetune-tests' });
  g.input('image', ['N', 1, SIDE, SIDE]);
  g.node('Flatten', ['image'], ['embedding'], { axis: int(1) });
  const w = g.initializer('w', weights, [LABELS.length, DIM]);
  const b = g.initializer('b', bias, [LABELS.length]);
  g.node('Gemm', ['embedding', w, b], ['logits'], { transB: int(1), alpha: float(1), beta: float(1) });
  g.node('Softmax', ['logits'], ['probabilities'], { axis: int(1) });
  g.output('probabilities', ['N', LABELS.length]);
  g.output('embedding', ['N', DIM]);
  return g.toBytes();
}

export function exportOf(
  model: Uint8Array,
  name: string,
  createdAt: Date,
  metrics: Record<string, number> = {},
) {
  const manifest: ModelManifestInput = {
    schema: 1,
    name,
    createdAt: createdAt.toISOString(),
    task: 'classification',
    model: {
      file: 'model.onnx',
      sha256: createHash('sha256').update(model).digest('hex'),
      size: model.length,
    },
    input: { name: 'image', shape: ['N', 1, SIDE, SIDE] },
    outputs: { embeddingDim: DIM },
    labels: LABELS,
    preprocess: SPEC,
    backbone: { source: 'test:pixels' },
    metrics,
  };
  return { manifest, files: { 'model.onnx': model } };
}

/**
 * Publishes a weak v1: zero weights and a bias towards "left", i.e. a majority-class predictor
 * (50% on a balanced holdout), and returns its version.
 */
export async function publishWeakStable(store: ObjectStore, name: string, createdAt: Date): Promise<string> {
  const w = new Float32Array(LABELS.length * DIM);
  const b = Float32Array.from([0.1, 0]);
  const r = await publishVersion(store, name, exportOf(buildLinearModel(w, b), name, createdAt));
  return r.version;
}

export function features(png: Uint8Array): Float32Array {
  return preprocessBytes(png, SPEC).data;
}

/** Nearest-centroid as a linear layer: logit_c = x·μ_c − ½‖μ_c‖². */
export function fitCentroids(xs: Float32Array[], ys: string[]): { w: Float32Array; b: Float32Array } {
  const w = new Float32Array(LABELS.length * DIM);
  const b = new Float32Array(LABELS.length);
  LABELS.forEach((label, c) => {
    const rows = xs.filter((_, i) => ys[i] === label);
    if (rows.length === 0) return;
    for (const x of rows) for (let j = 0; j < DIM; j++) w[c * DIM + j]! += x[j]! / rows.length;
    let sq = 0;
    for (let j = 0; j < DIM; j++) sq += w[c * DIM + j]! ** 2;
    b[c] = -0.5 * sq;
  });
  return { w, b };
}

/** Top-1 accuracy of a published version on the holdout, run by onnxruntime-node. */
export async function evaluate(
  store: ObjectStore,
  name: string,
  version: string,
  holdout: Sample[],
): Promise<number> {
  const manifest = await requireManifest(store, name, version);
  const bytes = (await store.get(keys.versionFile(name, version, manifest.model.file)))!.body;
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: ['cpu'],
    intraOpNumThreads: 1,
  });
  try {
    const data = new Float32Array(holdout.length * DIM);
    for (const [i, s] of holdout.entries()) data.set(features(s.png), i * DIM);
    const out = await session.run({
      image: new ort.Tensor('float32', data, [holdout.length, 1, SIDE, SIDE]),
    });
    const probs = out.probabilities!.data as Float32Array;
    let correct = 0;
    holdout.forEach((s, i) => {
      const row = Array.from(probs.subarray(i * LABELS.length, (i + 1) * LABELS.length));
      if (manifest.labels[row.indexOf(Math.max(...row))] === s.label) correct++;
    });
    return correct / holdout.length;
  } finally {
    await session.release();
  }
}

/**
 * The real retrain step: accepted feedback → the poisoned-feedback check on the new untrusted
 * feedback (stable's and live canaries' agreement with its labels) → nearest-centroid fit → ONNX →
 * publish (unrouted) → evaluate candidate, stable and live canaries on the same trusted holdout.
 */
export function tinyRetrain(
  holdout: Sample[],
  calls: { count: number } = { count: 0 },
  fitModel: (xs: Float32Array[], ys: string[]) => { w: Float32Array; b: Float32Array } = fitCentroids,
): RetrainFunction {
  return async (job, ctx): Promise<RetrainOutcomeInput> => {
    calls.count++;
    const routing = await readRouting(ctx.store, job.model);
    const stable = routing?.doc.stable;
    if (!stable) throw new Error(`${job.model} has no stable version`);
    const canaries = routing.doc.candidates.map((c) => c.version);
    const records = await listFeedback(ctx.store, job.model);
    const xs: Float32Array[] = [];
    const ys: string[] = [];
    const fresh: { record: FeedbackRecord; sample: Sample }[] = [];
    for (const r of records) {
      const png = await readFeedbackImage(ctx.store, r);
      xs.push(features(png));
      ys.push(r.label);
      if (!r.trusted && (ctx.since === null || new Date(r.receivedAt) > ctx.since)) {
        fresh.push({ record: r, sample: { png, label: r.label } });
      }
    }
    const onHoldout = new Map<string, number>();
    for (const v of [stable, ...canaries]) onHoldout.set(v, await evaluate(ctx.store, job.model, v, holdout));
    const refs = [];
    for (const [version, holdoutAccuracy] of onHoldout) {
      const agreement =
        fresh.length > 0
          ? await evaluate(
              ctx.store,
              job.model,
              version,
              fresh.map((f) => f.sample),
            )
          : 0;
      refs.push({
        version,
        role: version === stable ? ('stable' as const) : ('canary' as const),
        agreeing: Math.round(agreement * fresh.length),
        holdoutAccuracy,
        chance: 1 / LABELS.length,
      });
    }
    await ctx.screenFeedback(
      fresh.map((f) => f.record),
      refs,
    );
    ctx.log(`fitting on ${records.length} feedback samples`);
    const { w, b } = fitModel(xs, ys);
    const exp = exportOf(buildLinearModel(w, b), job.model, new Date());
    const published = await publishVersion(ctx.store, job.model, exp);
    const candidate = await evaluate(ctx.store, job.model, published.version, holdout);
    ctx.log(`holdout accuracy: candidate ${candidate}, stable ${onHoldout.get(stable)}`);
    return {
      candidateVersion: published.version,
      candidateMetrics: { accuracy: candidate },
      stableMetrics: { accuracy: onHoldout.get(stable)! },
      stableVersion: stable,
      canaryMetrics: Object.fromEntries(canaries.map((v) => [v, { accuracy: onHoldout.get(v)! }])),
      report: { trainSamples: records.length, holdout: holdout.length },
    };
  };
}

/** Stores labelled samples as accepted feedback (what the edge route does after its checks). */
export async function addFeedback(
  store: ObjectStore,
  name: string,
  samples: Sample[],
  now?: Date,
  trusted = false,
): Promise<void> {
  for (const s of samples)
    await saveFeedback(store, name, { image: s.png, label: s.label, knownLabel: true, now, trusted });
}

export function flipped(samples: Sample[]): Sample[] {
  return samples.map((s) => ({ png: s.png, label: s.label === 'left' ? 'right' : 'left' }));
}
