/**
 * The contract between the graph walk and the per-layer converters (one module per family under
 * layers/), plus the config parsing and error helpers they share.
 */
import type * as tf from '@tensorflow/tfjs';
import type { z } from 'zod';
import { EdgetuneError } from '../../../shared/errors.ts';
import type { ConvertContext, GraphTensor } from './context.ts';
import type { Shape, TfNode } from './graph.ts';

export interface LayerCall {
  ctx: ConvertContext;
  node: TfNode;
  layer: tf.layers.Layer;
  className: string;
  /** The Keras layer name (unsanitised). */
  name: string;
  /** `layer.getConfig()`: tfjs' camelCase form of the Keras config. */
  config: Record<string, unknown>;
  inputs: GraphTensor[];
  outputShapes: Shape[];
}

/** Emits the layer's ONNX nodes and returns its outputs (one per Keras output tensor). */
export type LayerConverter = (call: LayerCall) => GraphTensor[];

export function unsupportedLayer(name: string, className: string, why?: string): EdgetuneError {
  const suffix = why ? `: ${why}` : '';
  return new EdgetuneError('unsupported', `layer '${name}' of class ${className} is not supported${suffix}`);
}

/** Validates a layer config; a config we cannot express in ONNX is reported as unsupported. */
export function parseConfig<S extends z.ZodType>(call: LayerCall, schema: S): z.infer<S> {
  const r = schema.safeParse(call.config);
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = issue?.path.join('.') ?? '';
    throw unsupportedLayer(
      call.name,
      call.className,
      `${where ? `${where}: ` : ''}${issue?.message ?? 'bad config'}`,
    );
  }
  return r.data;
}

/** The layer's weights as float arrays with their shapes, in tfjs' `getWeights()` order. */
export function layerWeights(layer: tf.layers.Layer): { data: Float32Array; shape: number[] }[] {
  return layer
    .getWeights()
    .map((t) => ({ data: Float32Array.from(t.dataSync() as Float32Array), shape: t.shape }));
}

/** The single input of a layer that takes exactly one. */
export function onlyInput(call: LayerCall): GraphTensor {
  if (call.inputs.length !== 1) {
    throw unsupportedLayer(call.name, call.className, `expected 1 input, got ${call.inputs.length}`);
  }
  return call.inputs[0];
}

export function outShape(call: LayerCall, i = 0): Shape {
  return call.outputShapes[i];
}
