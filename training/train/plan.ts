/**
 * Where to split the backbone: the feature layer (the embedding) and the freeze boundary. With a
 * frozen backbone the boundary IS the feature layer. With `--trainable N` it is the latest valid
 * cut point with at least N conv layers between it and the feature layer; a valid cut point is a
 * layer output that alone carries everything later layers read (no skip connection crosses it)
 * and that exists as a tensor in the ONNX graph (a conv whose BatchNorm was folded into it does
 * not).
 */
import type * as tf from '@tensorflow/tfjs';
import { EdgetuneError } from '../../shared/errors.ts';
import { vectorFeature } from '../../shared/onnx/backbone-graph.ts';
import { inferShapes } from '../../shared/onnx/shapes.ts';
import { convertLayersModel } from '../backbones/convert/index.ts';
import { type TfNode, walkModel } from '../backbones/convert/graph.ts';
import { planOnnxSuffix } from '../backbones/onnx-suffix/plan.ts';
import { isConvLayer } from '../fit/suffix.ts';
import type { TrainBackbone } from './backbone.ts';

export interface FreezePlan {
  /** ONNX tensor where the frozen prefix ends and the trainable part starts. */
  boundary: string;
  /** Its ONNX shape without the batch dim (NCHW for spatial maps). */
  boundaryDims: number[];
  /** ONNX tensor of the embedding. */
  featureTensor: string;
  /** Conv layers re-trained (0 = frozen backbone, only the head trains). */
  trainableConvs: number;
  /** For trainable > 0: the backbone in tfjs and the nodes after the boundary. */
  keras?: {
    model: tf.LayersModel;
    nodes: TfNode[];
    boundary: tf.SymbolicTensor;
    /** Channels-last shape of the boundary tensor without the batch dim. */
    inputShape: number[];
  };
}

export type TrainableRequest = number | string;

function staticDims(backbone: TrainBackbone, tensor: string): number[] {
  const info = inferShapes(backbone.model).get(tensor);
  const shape = info?.shape?.slice(1);
  if (!shape?.every((d): d is number => typeof d === 'number' && d > 0)) {
    throw new EdgetuneError(
      'bad_request',
      `cannot determine the static shape of tensor ${tensor} in the backbone`,
    );
  }
  return shape;
}

function onnxTensorNames(backbone: TrainBackbone): Set<string> {
  const names = new Set<string>();
  for (const n of backbone.model.graph?.node ?? []) for (const o of n.output ?? []) names.add(o);
  return names;
}

function defaultFeature(backbone: TrainBackbone): string {
  const f = backbone.metadata.features[0]?.name;
  if (!f) {
    throw new EdgetuneError(
      'bad_request',
      'the backbone does not name a feature tensor in its metadata: pass --feature-layer <tensor>',
    );
  }
  return f;
}

export async function planFreeze(
  backbone: TrainBackbone,
  featureLayer: string | undefined,
  trainable: TrainableRequest = 0,
): Promise<FreezePlan> {
  const names = onnxTensorNames(backbone);
  const frozen = trainable === 0 || trainable === '0';
  if (frozen) {
    // Accept a Keras layer name recorded in the metadata as well as the ONNX tensor name.
    const wanted = featureLayer ?? defaultFeature(backbone);
    const byLayer = backbone.metadata.features.find((f) => f.layer === wanted)?.name;
    const featureTensor = names.has(wanted) ? wanted : (byLayer ?? wanted);
    if (!names.has(featureTensor)) {
      throw new EdgetuneError('not_found', `feature layer ${wanted} is not a tensor of the backbone graph`);
    }
    if (staticDims(backbone, featureTensor).length === 1) {
      return {
        boundary: featureTensor,
        boundaryDims: staticDims(backbone, featureTensor),
        featureTensor,
        trainableConvs: 0,
      };
    }
    // [C, 1, 1] is flattened and a spatial [C, H, W] map average-pooled: nodes added to the graph
    // trained on (and exported), so the embedding is a vector.
    const vector = vectorFeature(backbone.model, featureTensor);
    backbone.model = vector.model;
    const dims = staticDims(backbone, vector.tensor);
    return { boundary: vector.tensor, boundaryDims: dims, featureTensor: vector.tensor, trainableConvs: 0 };
  }
  if (typeof trainable === 'number' && (!Number.isInteger(trainable) || trainable < 0)) {
    throw new EdgetuneError(
      'bad_request',
      `--trainable must be a non-negative integer or a tensor name, got ${trainable}`,
    );
  }
  if (!backbone.loadKeras) {
    // A plain ONNX backbone: the layers after the cut are converted to tfjs (backbones/onnx-suffix/).
    const p = await planOnnxSuffix(backbone.model, featureLayer ?? defaultFeature(backbone), trainable);
    backbone.model = p.model;
    const { boundary, boundaryDims, featureTensor, convs: trainableConvs, keras } = p;
    return { boundary, boundaryDims, featureTensor, trainableConvs, keras };
  }
  const keras = await backbone.loadKeras();
  try {
    return planWithKeras(backbone, keras, names, featureLayer, trainable);
  } catch (e) {
    keras.dispose();
    throw e;
  }
}

function planWithKeras(
  backbone: TrainBackbone,
  keras: tf.LayersModel,
  names: Set<string>,
  featureLayer: string | undefined,
  trainable: TrainableRequest,
): FreezePlan {
  // The converter names ONNX tensors after Keras layers; re-running it maps one to the other.
  const { layerTensors } = convertLayersModel(keras);
  const tensorOf = (layer: string) => layerTensors[layer]?.name;
  const { order } = walkModel(keras);
  const wanted = featureLayer ?? defaultFeature(backbone);
  const f = order.findIndex(
    (n) => n.outboundLayer.name === wanted || tensorOf(n.outboundLayer.name) === wanted,
  );
  if (f < 0)
    throw new EdgetuneError('not_found', `feature layer ${wanted} is not a layer of ${backbone.kerasSource}`);
  const featureTensor = tensorOf(order[f]!.outboundLayer.name)!;
  if (!names.has(featureTensor)) {
    throw new EdgetuneError(
      'conflict',
      `the tfjs model ${backbone.kerasSource} does not match the ONNX backbone (no tensor ${featureTensor})`,
    );
  }
  const position = new Map(order.map((n, i) => [n, i]));
  // lastUse[i] = the latest node index (≤ f) reading node i's output.
  const lastUse = order.map(() => -1);
  order.forEach((n, j) => {
    if (j > f) return;
    for (const t of n.inputTensors) {
      const p = t.sourceLayer.inboundNodes[t.nodeIndex];
      const i = p ? position.get(p) : undefined;
      if (i !== undefined && n.outboundLayer.getClassName() !== 'InputLayer')
        lastUse[i] = Math.max(lastUse[i]!, j);
    }
  });
  const isCut = (i: number): boolean => {
    if (i < 1 || i >= f) return false;
    const layer = order[i]!.outboundLayer;
    const tensor = tensorOf(layer.name);
    if (!tensor || !names.has(tensor) || order[i]!.outputTensors.length !== 1) return false;
    for (let k = 0; k < i; k++) if (lastUse[k]! > i) return false;
    return true;
  };
  const convsAfter = (i: number) =>
    order.slice(i + 1, f + 1).filter((n) => isConvLayer(n.outboundLayer)).length;

  let cut = -1;
  if (typeof trainable === 'number' || /^\d+$/.test(trainable)) {
    const n = Number(trainable);
    for (let i = f - 1; i >= 1; i--) {
      if (convsAfter(i) >= n && isCut(i)) {
        cut = i;
        break;
      }
    }
    if (cut < 0) {
      throw new EdgetuneError(
        'bad_request',
        `--trainable ${n}: the backbone has no cut point with ${n} conv layers after it before ${featureTensor} ` +
          `(it has ${convsAfter(0)} conv layers in all)`,
      );
    }
  } else {
    cut = order.findIndex(
      (node) => node.outboundLayer.name === trainable || tensorOf(node.outboundLayer.name) === trainable,
    );
    if (cut < 0)
      throw new EdgetuneError(
        'not_found',
        `--trainable ${trainable}: no such layer or tensor in the backbone`,
      );
    if (!isCut(cut)) {
      throw new EdgetuneError(
        'bad_request',
        `--trainable ${trainable}: not a valid freeze boundary (it must come before the feature layer, exist in the ` +
          'ONNX graph, and no skip connection may cross it)',
      );
    }
  }
  const boundaryTensor = order[cut]!.outputTensors[0]!;
  const boundary = tensorOf(order[cut]!.outboundLayer.name)!;
  return {
    boundary,
    boundaryDims: staticDims(backbone, boundary),
    featureTensor,
    trainableConvs: convsAfter(cut),
    keras: {
      model: keras,
      nodes: order.slice(cut + 1, f + 1),
      boundary: boundaryTensor,
      inputShape: boundaryTensor.shape.slice(1) as number[],
    },
  };
}
