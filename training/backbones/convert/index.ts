/**
 * tfjs (Keras) layers model → ONNX (opset 17).
 *
 * The ONNX graph takes channels-first input `[N, C, H, W]` (float32) named `input`, the
 * onnxruntime convention; Keras' channels-last weights are re-laid out to OIHW, and every rank-4
 * tensor inside the graph is NCHW (see context.ts). Tensors are named after the Keras layers that
 * produce them (sanitised), so a layer name doubles as a feature-tensor name. A BatchNormalization
 * that directly follows a conv is folded into it and its name goes to the fused conv's output.
 */
import type * as tf from '@tensorflow/tfjs';
import { EdgetuneError } from '../../../shared/errors.ts';
import { type Dim, GraphBuilder } from '../../../shared/onnx/builder.ts';
import { encodeModel, type onnx } from '../../../shared/onnx/proto.ts';
import { normaliseActivation } from './activation.ts';
import { ConvertContext, type GraphTensor, onnxShape, sanitizeName } from './context.ts';
import { collectFeatureTensors, dims, type FeatureTensor } from './features.ts';
import { nodeOutputShapes, walkModel } from './graph.ts';
import { unsupportedLayer } from './layer.ts';
import { type InputInfo, METADATA_KEYS, type OutputInfo, preprocessForRange } from './metadata.ts';
import { LAYER_CONVERTERS } from './registry.ts';

/** Bump when the converter's output changes: it keys the backbone cache. */
export const CONVERTER_VERSION = 1;
export const CONVERTER_ID = `edgetune-tfjs-onnx/${CONVERTER_VERSION}`;
export const OPSET = 17;

export interface ConvertOptions {
  /** `edgetune.source` metadata, e.g. "nsfwjs:MobileNetV2@4.4.0". */
  source?: string;
  /** Name of the (single) graph input; default "input". */
  inputName?: string;
  /** Value range the model expects, e.g. [0, 1]; stored in metadata (with a PreprocessSpec). */
  inputRange?: [number, number];
  /** Class labels of the probabilities output. */
  labels?: string[];
  /** Keras layer names (or ONNX tensor names) to expose as additional graph outputs. */
  extraOutputs?: string[];
  /** Graph name; default the Keras model name. */
  graphName?: string;
}

export interface ConvertedModel {
  model: onnx.ModelProto;
  bytes: Uint8Array;
  input: InputInfo;
  outputs: OutputInfo[];
  /** Every layer output tensor, suggested feature tensors first. */
  features: FeatureTensor[];
  /** Keras layer name → ONNX tensor (absent for convs whose output was fused with a BN). */
  layerTensors: Record<string, { name: string; shape: Dim[] }>;
  metadata: Record<string, string>;
}

/** Symbolic names for unknown input dims: batch N, then H/W/C (rank 4) or d1, d2, ... */
function inputDims(shape: GraphTensor['shape']): Dim[] {
  const names = shape.length === 4 ? ['N', 'C', 'H', 'W'] : shape.map((_, i) => (i === 0 ? 'N' : `d${i}`));
  return onnxShape(shape).map((d, i) => d ?? names[i]);
}

function isProbabilities(layer: tf.layers.Layer): boolean {
  const cls = layer.getClassName();
  if (cls === 'Softmax') return true;
  const act = (layer.getConfig() as { activation?: unknown }).activation;
  return (
    (cls === 'Dense' || cls === 'Activation') &&
    typeof act === 'string' &&
    normaliseActivation(act) === 'softmax'
  );
}

export function convertLayersModel(model: tf.LayersModel, options: ConvertOptions = {}): ConvertedModel {
  const g = new GraphBuilder({
    name: sanitizeName(options.graphName ?? model.name),
    opset: OPSET,
    producer: 'edgetune',
    producerVersion: CONVERTER_ID,
  });
  const { order, consumers } = walkModel(model);
  const ctx = new ConvertContext(g, consumers, new Set(model.outputs.map((t) => t.id)));

  if (model.inputs.length === 0) throw new EdgetuneError('bad_request', 'the model has no inputs');
  const inputs = model.inputs.map((t, i) => {
    const name =
      model.inputs.length === 1 && i === 0
        ? (options.inputName ?? 'input')
        : sanitizeName(t.sourceLayer.name);
    const shape = t.shape.slice();
    g.input(name, inputDims(shape));
    ctx.bind(t, { name, shape });
    return { name, shape };
  });

  for (const node of order) {
    if (ctx.isHandled(node)) continue;
    const layer = node.outboundLayer;
    const className = layer.getClassName();
    if (className === 'InputLayer') continue;
    const convert = LAYER_CONVERTERS[className];
    if (convert === undefined) throw unsupportedLayer(layer.name, className);
    const outs = convert({
      ctx,
      node,
      layer,
      className,
      name: layer.name,
      config: layer.getConfig() as Record<string, unknown>,
      inputs: node.inputTensors.map((t) => ctx.lookup(t)),
      outputShapes: nodeOutputShapes(node),
    });
    node.outputTensors.forEach((t, i) => {
      const v = outs[i];
      if (v === undefined) throw new Error(`internal: converter for ${className} returned too few outputs`);
      ctx.bind(t, v);
    });
  }

  // Graph outputs: the model outputs, then any requested extra tensors.
  const outputs: OutputInfo[] = [];
  const declared = new Set<string>();
  const declare = (t: GraphTensor, layer: string, kind: OutputInfo['kind']) => {
    let name = t.name;
    if (declared.has(name) || inputs.some((i) => i.name === name)) {
      // An output that is an input or already an output (identity models) needs its own tensor.
      name = ctx.op('Identity', [t.name], ctx.tensorName(`${layer}/output`), layer);
    }
    declared.add(name);
    const shape = dims(t.shape);
    g.output(name, shape);
    outputs.push({ name, shape, layer, kind });
  };
  for (const t of model.outputs) {
    declare(ctx.lookup(t), t.sourceLayer.name, isProbabilities(t.sourceLayer) ? 'probabilities' : 'tensor');
  }
  for (const wanted of options.extraOutputs ?? []) {
    const byLayer = ctx.layerTensors.get(wanted);
    const byName = [...ctx.layerTensors.values()].find((v) => v.name === wanted);
    const t = byLayer ?? byName;
    if (t === undefined) {
      throw new EdgetuneError('not_found', `no tensor for layer '${wanted}' in the converted graph`);
    }
    if (!declared.has(t.name)) declare(t, wanted, 'tensor');
  }

  const outputNames = new Set(model.outputs.map((t) => ctx.lookup(t).name));
  const features = collectFeatureTensors(
    order,
    (node) =>
      node.outboundLayer.getClassName() === 'InputLayer'
        ? undefined
        : ctx.layerTensors.get(node.outboundLayer.name),
    outputNames,
  );

  const first = inputs[0];
  const layout = first.shape.length === 4 ? 'NCHW' : 'other';
  const input: InputInfo = {
    name: first.name,
    shape: inputDims(first.shape),
    layout,
    dtype: 'float32',
    ...(options.inputRange ? { range: options.inputRange } : {}),
  };

  const metadata: Record<string, string> = {
    [METADATA_KEYS.converter]: CONVERTER_ID,
    [METADATA_KEYS.input]: JSON.stringify(input),
    [METADATA_KEYS.outputs]: JSON.stringify(outputs),
    [METADATA_KEYS.features]: JSON.stringify(
      features
        .filter((f) => f.suggested)
        .map(({ name, layer, shape, kind }) => ({ name, layer, shape, kind })),
    ),
  };
  if (options.source) metadata[METADATA_KEYS.source] = options.source;
  if (options.labels) metadata[METADATA_KEYS.labels] = JSON.stringify(options.labels);
  const [, h, w, c] = first.shape;
  if (options.inputRange && layout === 'NCHW' && h != null && w != null && (c === 1 || c === 3)) {
    const spec = preprocessForRange(options.inputRange, { width: w, height: h, channels: c });
    metadata[METADATA_KEYS.preprocess] = JSON.stringify(spec);
  }
  for (const [k, v] of Object.entries(metadata)) g.metadata(k, v);

  const built = g.build();
  const layerTensors: ConvertedModel['layerTensors'] = {};
  for (const [layer, t] of ctx.layerTensors) layerTensors[layer] = { name: t.name, shape: dims(t.shape) };
  return { model: built, bytes: encodeModel(built), input, outputs, features, layerTensors, metadata };
}

/** Candidate feature tensors of a conversion (suggested first); `all` includes spatial maps. */
export function listFeatureTensors(converted: ConvertedModel, all = false): FeatureTensor[] {
  return all ? converted.features : converted.features.filter((f) => f.suggested);
}

export type { FeatureTensor } from './features.ts';
export { type BackboneMetadata, METADATA_KEYS, readBackboneMetadata } from './metadata.ts';
export { supportedLayerClasses } from './registry.ts';
