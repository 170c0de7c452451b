/**
 * `edgetune train --head prototype`: a nearest-class-mean head on the frozen backbone's embedding
 * (shared/prototype), no tfjs and no epochs — seconds. Same outputs as a trained head: one ONNX
 * file (backbone up to its embedding + the head), manifest.json, metrics.json and report.html with
 * leave-one-out and held-out accuracy and the confusion matrix; `baseline: 'linear'` also trains
 * the usual dense head on the same data (runTraining) so the report says which head wins.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as ort from '../inference/ort-node.ts';
import { loadKernelModules } from '../../kernels/node-kernels.ts';
import { createEngineSession, supports } from '../../shared/engine/index.ts';
import { EdgetuneError } from '../../shared/errors.ts';
import { ENGINE_IDS } from '../../shared/inference/engines.ts';
import type { ModelManifest } from '../../shared/manifest/manifest.ts';
import { assertName } from '../../shared/names.ts';
import { decodeModel, encodeModel, type ModelProto } from '../../shared/onnx/proto.ts';
import { cutAt, renameTensor } from '../../shared/onnx/surgery.ts';
import { decodeTargetFor } from '../../shared/preprocess/preprocess.ts';
import { imagesToTensor } from '../../shared/preprocess/tensor.ts';
import { type PrototypeHead, prototypeProbabilities } from '../../shared/prototype/head.ts';
import { buildPrototypeVersion } from '../../shared/prototype/version.ts';
import { publishVersion } from '../../shared/registry/publish.ts';
import type { InputOptions } from '../backbones/input-options.ts';
import { loadDataset, splitDataset } from '../datasets/index.ts';
import type { Sample } from '../datasets/types.ts';
import { type Evaluation, evaluatePredictions } from '../evaluate/metrics.ts';
import { defaultFeatureCacheDir } from '../features/cache.ts';
import { extractFeatures } from '../features/extract.ts';
import { openStore } from '../../shared/store/node/open.ts';
import { resolveBackbone } from '../train/backbone.ts';
import { planFreeze } from '../train/plan.ts';
import { type Progress, silentProgress } from '../train/progress.ts';
import { runTraining } from '../train/run.ts';
import { renderPrototypeReport } from './report.ts';

export interface PrototypeTrainOptions {
  backbone: string;
  data: string;
  name: string;
  testData?: string;
  input?: InputOptions;
  featureLayer?: string;
  /** Share of --data held out when there is no --test-data (default 0.2). */
  valSplit?: number;
  seed?: number;
  /** Also train the dense head (`edgetune train` without --head prototype) and compare. */
  baseline?: 'linear';
  out?: string;
  store?: string;
  cacheDir?: string;
  cwd?: string;
  progress?: Progress;
}

export interface PrototypeTrainResult {
  name: string;
  labels: string[];
  head: { temperature: number; leaveOneOutAccuracy: number };
  heldOut: Evaluation;
  heldOutSet: 'test' | 'val';
  counts: { train: number; heldOut: number; classes: number };
  /** The trained dense head on the same data, when asked for. */
  baseline?: { accuracy: number; macroF1: number; seconds: number };
  winner?: 'prototype' | 'linear' | 'tie';
  parity: { maxAbsDiff: number; samples: number; engines: string[] };
  outDir: string;
  files: { model: string; manifest: string; metrics: string; report: string };
  version?: string;
  store?: string;
  seconds: number;
}

const PARITY_SAMPLES = 8;
const PARITY_TOLERANCE = 1e-4;

function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-');
}

/** Probabilities of every sample, row-major, with the head applied to each embedding. */
function probabilities(head: PrototypeHead, rows: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(rows.length * head.labels.length);
  for (const [i, r] of rows.entries()) out.set(prototypeProbabilities(head, r), i * head.labels.length);
  return out;
}

/**
 * The exported graph on onnxruntime-node (and on the engine when it supports it) against the
 * reference head on a few held-out images: max |Δp| must stay within 1e-4.
 */
async function parityGate(
  model: ModelProto,
  manifest: ModelManifest,
  head: PrototypeHead,
  images: Sample[],
): Promise<{ maxAbsDiff: number; samples: number; engines: string[] }> {
  const sample = images.slice(0, PARITY_SAMPLES);
  const spec = manifest.preprocess;
  const x = imagesToTensor(
    sample.map((s) => s.image),
    spec,
  );
  const dims = [sample.length, spec.channels, spec.height, spec.width];
  const bytes = encodeModel(model);
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  const out = await session.run({ [manifest.input.name]: new ort.Tensor('float32', x, dims) });
  await session.release();
  const emb = out[manifest.outputs.embedding]!.data as Float32Array;
  const probs = out[manifest.outputs.probabilities]!.data as Float32Array;
  const dim = manifest.outputs.embeddingDim;
  const rows = sample.map((_, i) => emb.slice(i * dim, (i + 1) * dim));
  const want = probabilities(head, rows);
  let worst = 0;
  for (let k = 0; k < want.length; k++) worst = Math.max(worst, Math.abs(probs[k]! - want[k]!));
  if (worst > PARITY_TOLERANCE) {
    throw new EdgetuneError(
      'parity_failed',
      `prototype export differs from its head by ${worst} (> ${PARITY_TOLERANCE})`,
    );
  }
  const engines: string[] = [ENGINE_IDS.onnxruntime];
  if (supports(model).ok) {
    const engine = await createEngineSession(model, loadKernelModules({ relaxed: false }));
    const got = engine.runSync({ [manifest.input.name]: { data: x, dims } })[manifest.outputs.probabilities]!
      .data;
    engine.release();
    let d = 0;
    for (let k = 0; k < want.length; k++) d = Math.max(d, Math.abs(got[k]! - want[k]!));
    if (d <= PARITY_TOLERANCE) engines.push(ENGINE_IDS.wasm);
    worst = Math.max(worst, d);
  }
  return { maxAbsDiff: worst, samples: sample.length, engines };
}

export async function runPrototypeTraining(options: PrototypeTrainOptions): Promise<PrototypeTrainResult> {
  const started = performance.now();
  const progress = options.progress ?? silentProgress;
  const cwd = options.cwd ?? process.cwd();
  assertName('model', options.name);
  const seed = options.seed ?? 1;
  const backbone = await resolveBackbone(options.backbone, progress.log, options.input);
  const plan = await planFreeze(backbone, options.featureLayer, 0);
  const load = { seed, cwd, ...decodeTargetFor(backbone.preprocess), log: progress.log };
  const data = await loadDataset(options.data, load);
  const test = options.testData ? await loadDataset(options.testData, load) : undefined;
  const { train, val } = test
    ? { train: data, val: undefined }
    : splitDataset(data, { valFraction: options.valSplit ?? 0.2, seed });
  const held = test ?? val!;
  const labels = data.labels;
  const heldY = Int32Array.from(held.samples, (s) => {
    const i = labels.indexOf(held.labels[s.label]!);
    if (i < 0)
      throw new EdgetuneError('bad_request', `held-out class ${held.labels[s.label]} is not in --data`);
    return i;
  });

  const all = [...train.samples, ...held.samples];
  const extracted = await extractFeatures(
    {
      bytes: () => encodeModel(cutAt(backbone.model, plan.boundary)),
      backboneSha256: backbone.sha256,
      boundary: plan.boundary,
      itemDims: plan.boundaryDims,
      preprocess: backbone.preprocess,
    },
    all,
    { cacheDir: options.cacheDir ?? defaultFeatureCacheDir(cwd), progress, label: 'embedding' },
  );
  const dim = plan.boundaryDims.reduce((a, b) => a * b, 1);
  const row = (i: number) => extracted.data.slice(i * dim, (i + 1) * dim);

  // The embedding graph: the backbone up to its (pooled) feature tensor, output named 'embedding'.
  const embeddingGraph = renameTensor(
    cutAt(backbone.model, plan.featureTensor),
    plan.featureTensor,
    'embedding',
  );
  const p = backbone.preprocess;
  const inputName = embeddingGraph.graph?.input?.[0]?.name ?? 'input';
  const base = {
    manifest: {
      input: { name: inputName, shape: ['N', p.channels, p.height, p.width] },
      outputs: { probabilities: 'probabilities', embedding: 'embedding', embeddingDim: dim },
      preprocess: { ...p, layout: 'NCHW' as const },
      backbone: { source: backbone.source, sha256: backbone.sha256, featureTensor: plan.featureTensor },
      labels,
    },
    bytes: encodeModel(embeddingGraph),
    examples: [],
  };
  const examples = train.samples.map((s, i) => ({
    label: labels[s.label]!,
    sha256: s.id,
    embedding: row(i),
  }));
  // Class order of --data, even when a class's first example comes late in the shuffled order.
  const ordered = labels.flatMap((l) => examples.filter((e) => e.label === l));
  let built = await buildPrototypeVersion(options.name, base, ordered, [ENGINE_IDS.onnxruntime]);
  const heldRows = held.samples.map((_, i) => row(train.samples.length + i));
  const heldOut = evaluatePredictions(probabilities(built.head, heldRows), heldY, labels);
  const model = decodeModel(built.files['model.onnx']!);
  const parity = await parityGate(model, built.manifest, built.head, held.samples);
  const metrics = { accuracy: heldOut.accuracy, macroF1: heldOut.macroF1 };
  built = await buildPrototypeVersion(options.name, base, ordered, parity.engines, new Date(), metrics);
  progress.log(
    `prototype head: leave-one-out ${(built.head.leaveOneOutAccuracy * 100).toFixed(1)}%, held-out ${(heldOut.accuracy * 100).toFixed(1)}% (temperature ${built.head.temperature.toFixed(4)})`,
  );

  const outDir = path.resolve(
    cwd,
    options.out ?? path.join('.edgetune', 'runs', `${options.name}-${stamp()}`),
  );
  fs.mkdirSync(outDir, { recursive: true });
  let baseline: PrototypeTrainResult['baseline'];
  if (options.baseline === 'linear') {
    progress.log('baseline: training the dense head on the same data (tfjs)');
    const t0 = performance.now();
    const r = await runTraining({
      backbone: options.backbone,
      input: options.input,
      data: options.data,
      testData: options.testData,
      name: options.name,
      featureLayer: options.featureLayer,
      valSplit: options.valSplit,
      seed,
      out: path.join(outDir, 'baseline-linear'),
      cacheDir: options.cacheDir,
      cwd,
      progress,
    });
    baseline = {
      accuracy: r.accuracy,
      macroF1: r.transfer.heldOut.macroF1,
      seconds: (performance.now() - t0) / 1000,
    };
  }
  const winner = baseline
    ? heldOut.accuracy > baseline.accuracy
      ? 'prototype'
      : heldOut.accuracy < baseline.accuracy
        ? 'linear'
        : 'tie'
    : undefined;

  const files = {
    model: path.join(outDir, 'model.onnx'),
    manifest: path.join(outDir, 'manifest.json'),
    metrics: path.join(outDir, 'metrics.json'),
    report: path.join(outDir, 'report.html'),
  };
  for (const [file, bytes] of Object.entries(built.files)) fs.writeFileSync(path.join(outDir, file), bytes);
  fs.writeFileSync(files.manifest, `${JSON.stringify(built.manifest, null, 2)}\n`);
  const result: PrototypeTrainResult = {
    name: options.name,
    labels,
    head: { temperature: built.head.temperature, leaveOneOutAccuracy: built.head.leaveOneOutAccuracy },
    heldOut,
    heldOutSet: test ? 'test' : 'val',
    counts: { train: train.samples.length, heldOut: held.samples.length, classes: labels.length },
    baseline,
    winner,
    parity,
    outDir,
    files,
    seconds: 0,
  };
  if (options.store) {
    const store = openStore(options.store);
    const published = await publishVersion(store, options.name, {
      manifest: built.manifest,
      files: built.files,
    });
    result.version = published.version;
    result.store = store.url;
  }
  result.seconds = (performance.now() - started) / 1000;
  const { heldOut: ev, ...summary } = result;
  fs.writeFileSync(
    files.metrics,
    `${JSON.stringify({ ...summary, heldOut: { accuracy: ev.accuracy, macroF1: ev.macroF1, confusion: ev.confusion, perClass: ev.perClass } }, null, 2)}\n`,
  );
  fs.writeFileSync(files.report, renderPrototypeReport(result, backbone.source));
  return result;
}
