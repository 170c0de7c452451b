/**
 * `edgetune pretrain` as a library function (the article's approach 1): train a small CNN from
 * scratch on an abundant task with tfjs, export it through the tfjs→ONNX converter, check the ONNX
 * against tfjs, and keep the tfjs layers model beside it (`<out>.tfjs/`) so that `train
 * --trainable N` can later re-train its last blocks.
 */
import fs from 'node:fs';
import path from 'node:path';
import { EdgetuneError } from '../../shared/errors.ts';
import type { PreprocessSpec } from '../../shared/manifest/preprocess.ts';
import { encodeModel } from '../../shared/onnx/proto.ts';
import { runImages } from '../../shared/preprocess/run-images.ts';
import { imagesToTensor } from '../../shared/preprocess/tensor.ts';
import { buildArch } from '../backbones/archs.ts';
import { convertLayersModel } from '../backbones/convert/index.ts';
import { accuracy, fitClassifier, predict } from '../backbones/pretrain-fit.ts';
import type { EpochRecord } from '../fit/loop.ts';
import { saveTfjsLayersModel } from '../backbones/tfjs-file.ts';
import { datasetDigest, loadDataset, splitDataset } from '../datasets/index.ts';
import type { Dataset } from '../datasets/types.ts';
import { createOrtNodeRunner } from '../inference/ort-node-runner.ts';
import { type BackendRequest, initTf } from '../tf/backend.ts';
import { type Progress, silentProgress } from './progress.ts';

export interface PretrainOptions {
  /** Dataset spec, e.g. "mnist" or "mnist:classes=0-4". */
  data: string;
  arch?: string;
  /** Where the backbone ONNX goes; the tfjs model goes to `<out>.tfjs/`. */
  out: string;
  epochs?: number;
  seed?: number;
  backend?: BackendRequest;
  /** Fraction held out for validation (early stopping) and the reported accuracy; default 0.2. */
  valSplit?: number;
  batchSize?: number;
  lr?: number;
  /** Input side in pixels; default the images' own size when they all share one (else 32). */
  size?: number;
  cwd?: string;
  progress?: Progress;
}

export interface PretrainResult {
  out: string;
  tfjsModel: string;
  arch: string;
  dataset: string;
  labels: string[];
  trainCount: number;
  valCount: number;
  /** Held-out (validation split) accuracy of the tfjs model. */
  accuracy: number;
  parity: { maxAbsDiff: number; samples: number };
  featureTensor: string;
  preprocess: PreprocessSpec;
  params: number;
  backend: string;
  epochs: EpochRecord[];
  seconds: number;
}

/** Max |Δ| allowed between the exported ONNX and tfjs on held-out inputs. */
export const PRETRAIN_PARITY_TOLERANCE = 1e-4;

function inputGeometry(ds: Dataset, size?: number): { side: number; channels: 1 | 3 } {
  const channels: 1 | 3 = ds.samples.every((s) => s.image.channels === 1) ? 1 : 3;
  if (size !== undefined) return { side: size, channels };
  const first = ds.samples[0]!.image;
  const same = ds.samples.every((s) => s.image.width === first.width && s.image.height === first.height);
  return { side: same && first.width === first.height ? first.width : 32, channels };
}

export async function runPretrain(options: PretrainOptions): Promise<PretrainResult> {
  const started = performance.now();
  const progress = options.progress ?? silentProgress;
  const arch = options.arch ?? 'small-cnn';
  const seed = options.seed ?? 1;
  const epochs = options.epochs ?? 3;
  if (!Number.isInteger(epochs) || epochs < 1) throw new EdgetuneError('bad_request', '--epochs must be ≥ 1');
  const { name: backend } = await initTf({ backend: options.backend ?? 'auto', log: progress.log });

  const ds = await loadDataset(options.data, { seed, cwd: options.cwd });
  for (const w of ds.warnings) progress.log(`warning: ${w}`);
  const { train, val } = splitDataset(ds, { valFraction: options.valSplit ?? 0.2, seed });
  const { side, channels } = inputGeometry(ds, options.size);
  const nhwc: PreprocessSpec = {
    width: side,
    height: side,
    channels,
    layout: 'NHWC',
    resize: 'bilinear',
    scale: 1,
    mean: [0],
    std: [1],
    invert: false,
  };
  progress.log(
    `pretrain ${arch} on ${ds.spec}: ${train.samples.length} train / ${val.samples.length} held out, ` +
      `${side}×${side}×${channels}, ${ds.labels.length} classes, backend ${backend}`,
  );
  const x = imagesToTensor(
    train.samples.map((s) => s.image),
    nhwc,
  );
  const y = Int32Array.from(train.samples, (s) => s.label);
  const valX = imagesToTensor(
    val.samples.map((s) => s.image),
    nhwc,
  );
  const valY = Int32Array.from(val.samples, (s) => s.label);

  const model = buildArch(arch, { inputShape: [side, side, channels], classes: ds.labels.length, seed });
  try {
    const batchSize = options.batchSize ?? 64;
    const batches = Math.ceil(train.samples.length / batchSize);
    let task = progress.task('epoch 1', batches);
    const history = await fitClassifier(model, {
      x,
      y,
      valX,
      valY,
      epochs,
      batchSize,
      lr: options.lr ?? 3e-3,
      seed,
      onBatch: (b) => task.tick(1, `loss ${b.loss.toFixed(3)}`),
      onEpoch: (e) => {
        task.done(
          `loss ${e.loss.toFixed(4)} acc ${e.acc.toFixed(4)} val_loss ${e.valLoss?.toFixed(4)} val_acc ${e.valAcc?.toFixed(4)}`,
        );
        if (e.epoch < epochs) task = progress.task(`epoch ${e.epoch + 1}`, batches);
      },
    });
    const probs = predict(model, valX);
    const acc = accuracy(probs, valY);

    const converted = convertLayersModel(model, {
      source: `pretrain:${arch}@${ds.spec}`,
      graphName: arch,
      inputRange: [0, 1],
      labels: ds.labels,
      extraOutputs: ['features'],
    });
    const featureTensor = converted.layerTensors.features?.name ?? 'features';
    const meta = {
      arch,
      dataset: ds.spec,
      datasetDigest: await datasetDigest(ds),
      seed,
      epochs: history.epochs.length,
      accuracy: acc,
    };
    converted.model.metadataProps = [
      ...(converted.model.metadataProps ?? []),
      { key: 'edgetune.pretrain', value: JSON.stringify(meta) },
    ];
    const bytes = encodeModel(converted.model);
    const parity = await checkParity(bytes, val, nhwc, probs, ds.labels.length);
    if (parity.maxAbsDiff > PRETRAIN_PARITY_TOLERANCE) {
      throw new EdgetuneError(
        'parity_failed',
        `exported ONNX differs from tfjs by ${parity.maxAbsDiff.toExponential(2)} (> ${PRETRAIN_PARITY_TOLERANCE}); nothing written`,
      );
    }

    const out = path.resolve(options.cwd ?? process.cwd(), options.out);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    const tmp = `${out}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, bytes);
    fs.renameSync(tmp, out);
    const tfjsModel = await saveTfjsLayersModel(model, tfjsSidecarDir(out));
    const nchw = JSON.parse(converted.metadata['edgetune.preprocess'] ?? 'null') as PreprocessSpec | null;
    return {
      out,
      tfjsModel,
      arch,
      dataset: ds.spec,
      labels: ds.labels,
      trainCount: train.samples.length,
      valCount: val.samples.length,
      accuracy: acc,
      parity,
      featureTensor,
      preprocess: nchw ?? { ...nhwc, layout: 'NCHW' },
      params: model.countParams(),
      backend,
      epochs: history.epochs,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    model.dispose();
  }
}

/** `<backbone.onnx>.tfjs/` — where pretrain keeps the tfjs layers model for later fine-tuning. */
export function tfjsSidecarDir(onnxPath: string): string {
  return `${onnxPath}.tfjs`;
}

async function checkParity(
  bytes: Uint8Array,
  val: Dataset,
  nhwc: PreprocessSpec,
  tfProbs: Float32Array,
  classes: number,
): Promise<{ maxAbsDiff: number; samples: number }> {
  const n = Math.min(val.samples.length, 256);
  const runner = await createOrtNodeRunner(bytes, { device: 'cpu' });
  let maxAbsDiff = 0;
  try {
    const outName = runner.outputNames[0]!;
    await runImages(
      runner,
      n,
      (i) => val.samples[i]!.image,
      nhwc,
      (start, m, outputs) => {
        const p = outputs[outName]!;
        for (let k = 0; k < m * classes; k++) {
          maxAbsDiff = Math.max(maxAbsDiff, Math.abs(p[k]! - tfProbs[start * classes + k]!));
        }
      },
      { outputs: [outName], fixedBatch: runner.fixedBatch },
    );
  } finally {
    await runner.release();
  }
  return { maxAbsDiff, samples: n };
}
