/**
 * The cached activations every candidate trains on: for each candidate feature layer the pooled
 * vector, and for each fine-tuning depth the activations at its freeze boundary — each computed
 * once per image by the frozen prefix in onnxruntime-node and kept in the feature cache (keyed by
 * backbone and boundary), so a second search, and the final training of the winner, read them
 * back instead of running the backbone again.
 */
import type * as tf from '@tensorflow/tfjs';
import { vectorFeature } from '../../shared/onnx/backbone-graph.ts';
import { encodeModel } from '../../shared/onnx/proto.ts';
import { inferShapes } from '../../shared/onnx/shapes.ts';
import { cutAt } from '../../shared/onnx/surgery.ts';
import type { Sample } from '../datasets/types.ts';
import { extractFeatures } from '../features/extract.ts';
import { channelsLastShape, chwToHwc } from '../features/layout.ts';
import type { Device } from '../features/session.ts';
import type { TrainBackbone } from '../train/backbone.ts';
import { planFreeze } from '../train/plan.ts';
import type { Progress } from '../train/progress.ts';
import type { TransferInput } from './fit.ts';

export interface InputContext {
  backbone: TrainBackbone;
  samples: readonly Sample[];
  cacheDir: string;
  device?: Device;
  progress: Progress;
}

export async function layerInput(ctx: InputContext, tensor: string): Promise<TransferInput> {
  const vector = vectorFeature(ctx.backbone.model, tensor);
  const dims = inferShapes(vector.model).get(vector.tensor)!.shape!.slice(1) as number[];
  const extracted = await extractFeatures(
    {
      bytes: () => encodeModel(cutAt(vector.model, vector.tensor)),
      backboneSha256: ctx.backbone.sha256,
      boundary: vector.tensor,
      itemDims: dims,
      preprocess: ctx.backbone.preprocess,
    },
    ctx.samples,
    { cacheDir: ctx.cacheDir, device: ctx.device, progress: ctx.progress, label: `features ${tensor}` },
  );
  return { x: extracted.data, itemShape: dims };
}

/** The activations at the boundary of `--trainable depth`, with the layers to re-train; null when the backbone has no such cut. */
export async function depthInput(
  ctx: InputContext,
  featureLayer: string | undefined,
  depth: number,
): Promise<TransferInput | null> {
  let plan: Awaited<ReturnType<typeof planFreeze>>;
  try {
    plan = await planFreeze(ctx.backbone, featureLayer, depth);
  } catch {
    return null;
  }
  const keras = plan.keras!;
  const extracted = await extractFeatures(
    {
      bytes: () => encodeModel(cutAt(ctx.backbone.model, plan.boundary)),
      backboneSha256: ctx.backbone.sha256,
      boundary: plan.boundary,
      itemDims: plan.boundaryDims,
      preprocess: ctx.backbone.preprocess,
    },
    ctx.samples,
    {
      cacheDir: ctx.cacheDir,
      device: ctx.device,
      progress: ctx.progress,
      label: `boundary ${plan.boundary}`,
    },
  );
  return {
    x: chwToHwc(extracted.data, plan.boundaryDims),
    itemShape: channelsLastShape(plan.boundaryDims),
    keras: { nodes: keras.nodes, boundary: keras.boundary as tf.SymbolicTensor },
  };
}

/** A backbone whose tfjs model is loaded once for all depths (nsfwjs' MobileNetV2 takes seconds to load). */
export function sharedKeras(backbone: TrainBackbone): { backbone: TrainBackbone; dispose(): void } {
  if (!backbone.loadKeras) return { backbone, dispose() {} };
  const load = backbone.loadKeras;
  let loaded: Promise<tf.LayersModel> | undefined;
  // planFreeze disposes the model it loaded when a depth does not fit the backbone; the shared
  // one must outlive that, so callers get a view whose dispose does nothing.
  const view = (m: tf.LayersModel) =>
    new Proxy(m, { get: (t, p) => (p === 'dispose' ? () => {} : Reflect.get(t, p, t)) });
  return {
    backbone: {
      ...backbone,
      loadKeras: async () => {
        loaded = loaded ?? load();
        return view(await loaded);
      },
    },
    dispose() {
      void loaded?.then((m) => m.dispose());
    },
  };
}
