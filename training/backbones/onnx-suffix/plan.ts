/**
 * `--trainable N` on a plain ONNX backbone: the cut (cut.ts) and the nodes after it as a tfjs
 * model (to-tfjs.ts), in the shape the training job already uses for nsfwjs/tfjs backbones. The
 * conversion is checked against onnxruntime-node on the ONNX suffix before any work starts, so a
 * conversion error is a one-line refusal here rather than a model that trains the wrong network.
 */
import * as tf from '@tensorflow/tfjs';
import { EdgetuneError } from '../../../shared/errors.ts';
import { vectorFeature } from '../../../shared/onnx/backbone-graph.ts';
import { encodeModel, type ModelProto } from '../../../shared/onnx/proto.ts';
import { inferShapes } from '../../../shared/onnx/shapes.ts';
import { createOrtNodeRunner } from '../../inference/ort-node-runner.ts';
import { type TfNode, walkModel } from '../convert/graph.ts';
import { planOnnxCut } from './cut.ts';
import { suffixModel } from './subgraph.ts';
import { onnxSuffixToTfjs } from './to-tfjs.ts';

/** Largest |tfjs − onnxruntime| on the check input, relative to the largest |onnxruntime| value. */
export const CONVERSION_TOLERANCE = 1e-4;

export interface OnnxSuffixPlan {
  /** The backbone graph (with pooling/flatten nodes added when the feature was not a vector). */
  model: ModelProto;
  boundary: string;
  boundaryDims: number[];
  featureTensor: string;
  convs: number;
  keras: {
    model: tf.LayersModel;
    nodes: TfNode[];
    boundary: tf.SymbolicTensor;
    inputShape: number[];
  };
}

function staticDims(model: ModelProto, tensor: string): number[] {
  const shape = inferShapes(model).get(tensor)?.shape?.slice(1);
  if (!shape?.every((d): d is number => typeof d === 'number' && d > 0)) {
    throw new EdgetuneError(
      'bad_request',
      `cannot determine the static shape of tensor ${tensor} in the backbone`,
    );
  }
  return shape;
}

export async function planOnnxSuffix(
  backbone: ModelProto,
  feature: string,
  trainable: number | string,
): Promise<OnnxSuffixPlan> {
  let model = backbone;
  let featureTensor = feature;
  if (staticDims(model, feature).length !== 1) {
    const vector = vectorFeature(model, feature);
    model = vector.model;
    featureTensor = vector.tensor;
  }
  const cut = planOnnxCut(model.graph!, featureTensor, trainable);
  const boundaryDims = staticDims(model, cut.boundary);
  const keras = onnxSuffixToTfjs(model.graph!, {
    boundary: cut.boundary,
    boundaryDims,
    nodes: cut.nodes,
    feature: featureTensor,
  });
  try {
    const reference = suffixModel(model, cut.boundary, boundaryDims, cut.nodes, featureTensor);
    await checkConversion(reference, cut.boundary, boundaryDims, featureTensor, keras);
  } catch (e) {
    keras.dispose();
    throw e;
  }
  const input = keras.inputs[0]!;
  return {
    model,
    boundary: cut.boundary,
    boundaryDims,
    featureTensor,
    convs: cut.convs,
    keras: {
      model: keras,
      nodes: walkModel(keras).order.filter((n) => n.outboundLayer.getClassName() !== 'InputLayer'),
      boundary: input,
      inputShape: input.shape.slice(1) as number[],
    },
  };
}

/** Deterministic, varied, non-negative check input (boundaries usually follow a ReLU). */
function checkInput(n: number): Float32Array {
  const x = new Float32Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    x[i] = (s >>> 8) / 2 ** 24;
  }
  return x;
}

/** Throws when the tfjs model does not compute what the ONNX suffix computes on a check input. */
export async function checkConversion(
  /** The ONNX suffix alone (boundary → feature). */
  reference: ModelProto,
  boundary: string,
  dims: number[],
  feature: string,
  keras: tf.LayersModel,
): Promise<void> {
  const size = dims.reduce((a, b) => a * b, 1);
  const x = checkInput(2 * size);
  const runner = await createOrtNodeRunner(encodeModel(reference), { device: 'cpu' });
  let want: Float32Array;
  try {
    want = (await runner.run(boundary, x, [2, ...dims]))[feature]!.data;
  } finally {
    await runner.release();
  }
  const got = tf.tidy(() => {
    let t = tf.tensor(x, [2, ...dims]);
    if (dims.length === 3) t = t.transpose([0, 2, 3, 1]);
    let out = keras.predict(t) as tf.Tensor;
    // A spatial output is NHWC in tfjs, NCHW in ONNX.
    if (out.shape.length === 4) out = out.transpose([0, 3, 1, 2]);
    return out.dataSync() as Float32Array;
  });
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]!));
    const d = Math.abs(want[i]! - got[i]!);
    // NaN must fail the check, so compare with a negated ≤.
    if (!(d <= diff)) diff = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
  }
  if (got.length !== want.length || diff > CONVERSION_TOLERANCE * Math.max(scale, 1)) {
    throw new EdgetuneError(
      'unsupported',
      `--trainable: the tfjs conversion of the layers after ${boundary} differs from the ONNX graph ` +
        `(max |Δ| ${diff.toExponential(2)} on ${feature}); use --trainable 0`,
    );
  }
}
