/**
 * The cached activations every candidate trains on: for each candidate feature layer the pooled
 * vector, and for each fine-tuning depth the activations at its freeze boundary — all computed in
 * one onnxruntime-node pass per image (one session with an output per boundary) and kept in the
 * feature cache (keyed by backbone and boundary), so a second search, and the final training of
 * the winner, read them back instead of running the backbone again.
 */
import type * as tf from '@tensorflow/tfjs';
import { vectorFeature } from '../../shared/onnx/backbone-graph.ts';
import { encodeModel } from '../../shared/onnx/proto.ts';
import { inferShapes } from '../../shared/onnx/shapes.ts';
import { cutAt } from '../../shared/onnx/surgery.ts';
import type { Sample } from '../datasets/types.ts';
import { channelsLastShape, chwToHwc } from '../features/layout.ts';
import { extractPrefixOutputs } from '../features/multi-prefix.ts';
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

export type InputKey = `layer:${string}` | `depth:${number}`;

/**
 * Every candidate's input at once: the pooled vector of each layer in `layers` (keys
 * `layer:<tensor>`) and the activations at each fine-tuning depth's boundary with the layers to
 * re-train (`depth:<n>`, null when the backbone has no such cut), all from one pass of the
 * backbone (a session with one output per boundary) or the feature cache.
 */
export async function candidateInputs(
  ctx: InputContext,
  layers: readonly string[],
  featureLayer: string | undefined,
  depths: readonly number[],
): Promise<Map<InputKey, TransferInput | null>> {
  // Planned first: planning an ONNX-only backbone may rewrite its graph (backbone.model).
  const plans: { depth: number; plan: Awaited<ReturnType<typeof planFreeze>> | null }[] = [];
  for (const depth of depths) {
    try {
      plans.push({ depth, plan: await planFreeze(ctx.backbone, featureLayer, depth) });
    } catch {
      plans.push({ depth, plan: null });
    }
  }
  let model = ctx.backbone.model;
  const vectors = layers.map((tensor) => {
    const v = vectorFeature(model, tensor);
    model = v.model;
    return { tensor, vector: v.tensor, dims: inferShapes(model).get(v.tensor)!.shape!.slice(1) as number[] };
  });
  const outputs = [
    ...vectors.map((v) => ({ boundary: v.vector, itemDims: v.dims })),
    ...plans.flatMap(({ plan }) => (plan ? [{ boundary: plan.boundary, itemDims: plan.boundaryDims }] : [])),
  ];
  const extracted = await extractPrefixOutputs(
    {
      bytes: () =>
        encodeModel(
          cutAt(
            model,
            outputs.map((o) => o.boundary),
          ),
        ),
      backboneSha256: ctx.backbone.sha256,
      preprocess: ctx.backbone.preprocess,
      outputs,
    },
    ctx.samples,
    {
      cacheDir: ctx.cacheDir,
      device: ctx.device,
      progress: ctx.progress,
      label: `activations of ${outputs.length} candidate boundaries`,
    },
  );
  const inputs = new Map<InputKey, TransferInput | null>();
  for (const v of vectors)
    inputs.set(`layer:${v.tensor}`, { x: extracted.data.get(v.vector)!, itemShape: v.dims });
  for (const { depth, plan } of plans) {
    inputs.set(
      `depth:${depth}`,
      plan && {
        x: chwToHwc(extracted.data.get(plan.boundary)!, plan.boundaryDims),
        itemShape: channelsLastShape(plan.boundaryDims),
        keras: { nodes: plan.keras!.nodes, boundary: plan.keras!.boundary as tf.SymbolicTensor },
      },
    );
  }
  return inputs;
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
