/**
 * Stage 2 of `runTraining`: the frozen prefix's activations for the training, validation and test
 * images (one onnxruntime session for all three sets, cached per image), laid out channels-last
 * for the trainable part, in memory or read back from disk per batch.
 */
import type { ObjectStore } from '../../../shared/store/types.ts';
import type { Sample } from '../../datasets/types.ts';
import { imageShapeWarnings } from '../../datasets/shape-warnings.ts';
import { defaultFeatureCacheDir } from '../../features/cache.ts';
import { cachedRows } from '../../features/cached-rows.ts';
import { type Extracted, extractFeatures, type FeatureStats } from '../../features/extract.ts';
import { channelsLastShape, chwToHwc } from '../../features/layout.ts';
import { frozenPrefix } from '../../features/prefix.ts';
import type { TensorData } from '../../fit/loop.ts';
import { constantFeatureWarning, upscaleWarningFromSides } from '../input-warnings.ts';
import type { StageContext } from './context.ts';
import type { TrainInputs } from './inputs.ts';

/** Training rows the constant-feature check reads back when activations stay on disk. */
const FROM_DISK_PROBE_ROWS = 256;

export interface FeatureSet {
  /** Every image the prefix saw: training, validation, then test. */
  images: number;
  /** Fine-tuning streamed data: activations stay on disk and are read per batch. */
  fromDisk: boolean;
  stats: Omit<FeatureStats, 'shapes'>;
  /** Values of one item's activations. */
  itemSize: number;
  itemShape: number[];
  trainX: TensorData;
  valX: TensorData;
  /** The held-out set's activations (the validation set's when there is no test set). */
  heldX: TensorData;
}

export async function extractStageFeatures(
  ctx: StageContext,
  inputs: TrainInputs,
  store: ObjectStore | undefined,
): Promise<FeatureSet> {
  const { options, progress, cwd, warn } = ctx;
  const { backbone, plan, train, val, test, streamed, yTrain, yVal, yHeld } = inputs;
  const mark = performance.now();
  const all = [...train.samples, ...val.samples, ...(test ? test.samples : [])];
  const fromDisk = streamed && plan.trainableConvs > 0;
  const extracted: Extracted = await extractFeatures(frozenPrefix(backbone, plan), all, {
    cacheDir: options.cacheDir ?? defaultFeatureCacheDir(cwd),
    device: options.device,
    progress,
    label: 'frozen prefix',
    store,
    // Fine-tuning streamed data reads the (spatial, large) boundary activations back per batch.
    inMemory: !fromDisk,
  });
  ctx.lap('features', mark);
  // Streamed images' shapes are known once decoded (images that came from a cache are not).
  const { shapes, ...stats } = extracted.stats;
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
  return { images: all.length, fromDisk, stats, itemSize, itemShape, trainX, valX, heldX };
}
