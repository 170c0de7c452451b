/**
 * The nodes after a plain ONNX backbone's freeze boundary as a tfjs layers model (boundary →
 * feature tensor), carrying the ONNX weights. The training job then treats it like the later
 * layers of an nsfwjs/tfjs backbone: rebuilt with trainable copies (BatchNormalization folded
 * into its conv, i.e. frozen statistics), fitted, and exported by the tfjs→ONNX converter.
 */
import * as tf from '@tensorflow/tfjs';
import { attrTensor } from '../../../shared/onnx/attributes.ts';
import type { GraphProto, NodeProto, TensorProto } from '../../../shared/onnx/proto.ts';
import { readTensorFloat32, readTensorInts } from '../../../shared/onnx/tensor.ts';
import { type Constant, type KValue, OP_BUILDERS, type OpCall, refuse, toSpatial } from './ops.ts';

const FLOAT_TYPES = new Set([1, 10, 11, 16]);

function constantOf(t: TensorProto): Constant {
  const dims = (t.dims ?? []).map(Number);
  const data = FLOAT_TYPES.has(t.dataType ?? 0) ? readTensorFloat32(t) : Float32Array.from(readTensorInts(t));
  return { data, dims };
}

/** A tfjs layer name from an ONNX node name (tfjs names start alphanumeric; no spaces or colons). */
function layerNameFrom(node: NodeProto): string {
  const raw = (node.name || node.output?.[0] || node.opType || 'node').replace(/[^A-Za-z0-9._/-]/g, '_');
  const trimmed = raw.replace(/^[^A-Za-z0-9]+/, '');
  return trimmed || 'node';
}

export interface SuffixModelOptions {
  /** The boundary tensor (the model's input). */
  boundary: string;
  /** Its shape without the batch dim, ONNX layout ([C, H, W] or [D]). */
  boundaryDims: number[];
  /** The nodes that compute `feature` from the boundary, in order. */
  nodes: readonly NodeProto[];
  /** The tensor the model outputs. */
  feature: string;
  name?: string;
}

/** Builds the suffix; throws a one-line message naming the first node that cannot be converted. */
export function onnxSuffixToTfjs(g: GraphProto, o: SuffixModelOptions): tf.LayersModel {
  const constants = new Map<string, TensorProto>();
  for (const t of g.initializer ?? []) if (t.name) constants.set(t.name, t);
  for (const n of g.node ?? []) {
    const value = n.opType === 'Constant' ? attrTensor(n, 'value') : undefined;
    if (value && n.output?.[0]) constants.set(n.output[0], value);
  }
  const [c, h, w] = o.boundaryDims;
  const spatialInput = o.boundaryDims.length === 3;
  const input = tf.input({
    shape: spatialInput ? [h!, w!, c!] : o.boundaryDims,
    name: 'boundary',
  });
  const values = new Map<string, KValue>([[o.boundary, { t: input, pooled: false }]]);
  const unpooled = new Map<string, tf.SymbolicTensor>();
  const used = new Set<string>(['boundary']);
  const unique = (base: string) => {
    let name = base;
    for (let i = 1; used.has(name); i++) name = `${base}_${i}`;
    used.add(name);
    return name;
  };
  for (const node of o.nodes) {
    const build = OP_BUILDERS[node.opType ?? ''];
    if (!build) throw refuse(node, 'unsupported op');
    const inputs = node.input ?? [];
    const base = layerNameFrom(node);
    const call: OpCall = {
      node,
      layerName: (suffix) => unique(suffix ? `${base}/${suffix}` : base),
      value: (i) => {
        const name = inputs[i];
        return name ? values.get(name) : undefined;
      },
      spatial: (i) => {
        const name = inputs[i] ?? '';
        const v = values.get(name);
        if (!v) throw refuse(node, `input ${i} must be computed, not a constant`);
        if (!v.pooled) {
          if (v.t.shape.length !== 4) throw refuse(node, `input ${i} must be a [N, C, H, W] map`);
          return v.t;
        }
        let t = unpooled.get(name);
        if (!t) {
          t = toSpatial(v, unique(`${base}/unpool`));
          unpooled.set(name, t);
        }
        return t;
      },
      constant: (i) => {
        const t = constants.get(inputs[i] ?? '');
        return t ? constantOf(t) : undefined;
      },
    };
    for (const [i, name] of inputs.entries()) {
      if (name && !values.has(name) && !constants.has(name)) {
        throw refuse(node, `input ${i} ('${name}') is computed before the freeze boundary`);
      }
    }
    let out: KValue;
    try {
      out = build(call);
    } catch (e) {
      if (e instanceof Error && !('code' in e)) throw refuse(node, e.message.split('\n')[0]!);
      throw e;
    }
    values.set(node.output![0]!, out);
  }
  const feature = values.get(o.feature);
  if (!feature)
    throw refuse(o.nodes.at(-1) ?? {}, `the feature tensor ${o.feature} is not computed after the boundary`);
  // A pooled feature ([N, C, 1, 1] in ONNX) is [N, C] here: the same values in the same order.
  return tf.model({ inputs: input, outputs: feature.t, name: o.name ?? 'onnx_suffix' });
}
