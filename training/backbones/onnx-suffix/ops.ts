/**
 * ONNX node → tfjs layers, for the part of a plain ONNX backbone that `--trainable N` re-trains.
 * Every layer is a stock Keras layer that edgetune's tfjs→ONNX converter exports again, so the
 * trained suffix goes back to ONNX the same way an nsfwjs/tfjs backbone's does.
 *
 * Layout: rank-4 ONNX tensors are NCHW and live in tfjs as NHWC. A global-pool output (ONNX
 * [N, C, 1, 1]) is kept as [N, C] ("pooled") because that is what the Flatten after it wants; when
 * a spatial op (a squeeze-excitation Conv or Mul) reads it, it is pooled again as an
 * AveragePooling2D over the whole map, which keeps H = W = 1.
 * Scalar constants (Mul/Div/Add/Sub, HardSigmoid's slope and offset, Clip bounds) become
 * Rescaling + ReLU(maxValue) layers: exact in float32 up to rounding, and convertible back.
 */
import * as tf from '@tensorflow/tfjs';
import { EdgetuneError } from '../../../shared/errors.ts';
import { attrFloat, attrInt, attrInts, attrString } from '../../../shared/onnx/attributes.ts';
import type { NodeProto } from '../../../shared/onnx/proto.ts';

/** A tensor in tfjs: `pooled` = ONNX [N, C, 1, 1] held as [N, C]. */
export interface KValue {
  t: tf.SymbolicTensor;
  pooled: boolean;
  /** For a global-pool output: the NHWC map it averages (to pool it again keeping H = W = 1). */
  map?: tf.SymbolicTensor;
}

export interface Constant {
  data: Float32Array;
  dims: number[];
}

export interface OpCall {
  node: NodeProto;
  /** A fresh, valid, unique tfjs layer name derived from the node's (suffix for helper layers). */
  layerName(suffix?: string): string;
  /** Input i when it is computed (not a constant), else undefined. */
  value(i: number): KValue | undefined;
  /** Input i as NHWC [N, H, W, C] (a pooled value as [N, 1, 1, C]). */
  spatial(i: number): tf.SymbolicTensor;
  /** Input i when it is a constant (initializer or Constant node), else undefined. */
  constant(i: number): Constant | undefined;
}

export type OpBuilder = (call: OpCall) => KValue;

export function refuse(node: NodeProto, why: string): EdgetuneError {
  return new EdgetuneError(
    'unsupported',
    `--trainable: node '${node.name || node.output?.[0]}' (${node.opType}) after the freeze boundary cannot be re-trained: ${why}`,
  );
}

function computed(call: OpCall, i: number): KValue {
  const v = call.value(i);
  if (!v) throw refuse(call.node, `input ${i} must be computed, not a constant`);
  return v;
}

/**
 * Applies a layer, then gives it the ONNX weights. setWeights shares the tensors' data with the
 * layer's variables, so the copies made here are freed at once (a constructor's `weights` would
 * keep them alive for the process).
 */
function applyWithWeights(
  layer: tf.layers.Layer,
  input: tf.SymbolicTensor,
  weights: (tf.Tensor | Float32Array)[],
): tf.SymbolicTensor {
  const out = layer.apply(input) as tf.SymbolicTensor;
  const tensors = weights.map((w) => (w instanceof Float32Array ? tf.tensor1d(w) : w));
  layer.setWeights(tensors);
  tf.dispose(tensors);
  return out;
}

function keep(v: KValue, layer: tf.layers.Layer): KValue {
  return { t: layer.apply(v.t) as tf.SymbolicTensor, pooled: v.pooled };
}

/** y = x·scale + offset, then clipped to [lo, hi] (either bound may be infinite). */
function affineClip(call: OpCall, v: KValue, scale: number, offset: number, lo: number, hi: number): KValue {
  let x = v;
  // Clipping to [lo, hi] is ReLU(maxValue hi − lo) on x − lo, shifted back by lo.
  const shift = Number.isFinite(lo) ? lo : 0;
  if (scale !== 1 || offset - shift !== 0) {
    x = keep(x, tf.layers.rescaling({ scale, offset: offset - shift, name: call.layerName('affine') }));
  }
  if (Number.isFinite(lo)) {
    const maxValue = Number.isFinite(hi) ? hi - lo : undefined;
    x = keep(
      x,
      tf.layers.reLU({ ...(maxValue !== undefined ? { maxValue } : {}), name: call.layerName('clip') }),
    );
  } else if (Number.isFinite(hi)) {
    throw refuse(call.node, 'a clip with only an upper bound');
  }
  if (shift !== 0)
    x = keep(x, tf.layers.rescaling({ scale: 1, offset: shift, name: call.layerName('unshift') }));
  return x;
}

function scalarOf(call: OpCall, c: Constant): number {
  if (c.data.length !== 1) {
    throw refuse(call.node, `only scalar constants are supported, got shape [${c.dims.join(', ')}]`);
  }
  return c.data[0]!;
}

/** OIHW → HWIO (Conv2D) or, for depthwise, [C·M, 1, H, W] → HWCM (DepthwiseConv2D). */
function convKernel(w: Constant, depthwise: boolean, inC: number): tf.Tensor {
  const [o, i, h, k] = w.dims as [number, number, number, number];
  return tf.tidy(() => {
    const src = tf.tensor4d(w.data, [o, i, h, k]);
    if (!depthwise) return src.transpose([2, 3, 1, 0]);
    // ONNX output channel o = c·M + m for input channel c and multiplier m.
    return src
      .reshape([o, h, k])
      .transpose([1, 2, 0])
      .reshape([h, k, inC, o / inC]);
  });
}

const conv: OpBuilder = (call) => {
  const { node } = call;
  const x = call.spatial(0);
  const w = call.constant(1);
  if (w?.dims.length !== 4) throw refuse(node, 'the weight must be a constant 4-D tensor');
  const b = node.input?.[2] ? call.constant(2) : undefined;
  if (node.input?.[2] && !b) throw refuse(node, 'the bias must be a constant');
  const [outC, perGroup, kh, kw] = w.dims as [number, number, number, number];
  const inC = x.shape[3] as number;
  const group = attrInt(node, 'group', 1);
  const strides = attrInts(node, 'strides') ?? [1, 1];
  const dilations = attrInts(node, 'dilations') ?? [1, 1];
  const pads = attrInts(node, 'pads') ?? [0, 0, 0, 0];
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  const depthwise = group > 1 && group === inC && perGroup === 1 && outC % inC === 0;
  if (group > 1 && !depthwise) {
    throw refuse(
      node,
      `grouped convolution with ${group} groups of ${perGroup} channels (only depthwise: one channel per group)`,
    );
  }
  let padding: 'same' | 'valid' = 'valid';
  let input = x;
  const symmetricSame =
    strides.every((s) => s === 1) &&
    pads[0] === pads[2] &&
    pads[1] === pads[3] &&
    pads[0] === (dilations[0]! * (kh - 1)) / 2 &&
    pads[1] === (dilations[1]! * (kw - 1)) / 2;
  if (autoPad === 'SAME_UPPER' || (autoPad === 'NOTSET' && pads.some((p) => p > 0) && symmetricSame)) {
    // tf's "same" pads the extra pixel at the end, as SAME_UPPER does; symmetric pads at stride 1 are the same thing.
    padding = 'same';
  } else if (autoPad === 'SAME_LOWER') {
    throw refuse(node, 'auto_pad SAME_LOWER');
  } else if (autoPad === 'NOTSET' && pads.some((p) => p > 0)) {
    input = tf.layers
      .zeroPadding2d({
        padding: [
          [pads[0]!, pads[2]!],
          [pads[1]!, pads[3]!],
        ],
        name: call.layerName('pad'),
      })
      .apply(x) as tf.SymbolicTensor;
  }
  const kernel = convKernel(w, depthwise, inC);
  const common = {
    kernelSize: [kh, kw] as [number, number],
    strides: strides as [number, number],
    dilationRate: dilations as [number, number],
    padding,
    useBias: b !== undefined,
    name: call.layerName(),
  };
  const layer = depthwise
    ? tf.layers.depthwiseConv2d({ ...common, depthMultiplier: outC / inC })
    : tf.layers.conv2d({ ...common, filters: outC });
  return { t: applyWithWeights(layer, input, b ? [kernel, b.data] : [kernel]), pooled: false };
};

const batchNorm: OpBuilder = (call) => {
  const x = computed(call, 0);
  const params = [1, 2, 3, 4].map((i) => call.constant(i));
  if (params.some((p) => !p)) throw refuse(call.node, 'scale, bias, mean and variance must be constants');
  const [gamma, beta, mean, variance] = params as Constant[];
  const layer = tf.layers.batchNormalization({
    axis: -1,
    epsilon: attrFloat(call.node, 'epsilon', 1e-5),
    name: call.layerName(),
  });
  const weights = [gamma, beta, mean, variance].map((p) => p!.data);
  return { t: applyWithWeights(layer, x.t, weights), pooled: x.pooled };
};

const relu: OpBuilder = (call) => keep(computed(call, 0), tf.layers.reLU({ name: call.layerName() }));

const clip: OpBuilder = (call) => {
  const { node } = call;
  const bound = (i: number, fallback: number) => {
    if (!node.input?.[i]) return fallback;
    const c = call.constant(i);
    if (!c) throw refuse(node, 'the bounds must be constants');
    return scalarOf(call, c);
  };
  return affineClip(call, computed(call, 0), 1, 0, bound(1, -Infinity), bound(2, Infinity));
};

const hardSigmoid: OpBuilder = (call) =>
  affineClip(
    call,
    computed(call, 0),
    attrFloat(call.node, 'alpha', 0.2),
    attrFloat(call.node, 'beta', 0.5),
    0,
    1,
  );

function multiply(call: OpCall, a: KValue, b: KValue): KValue {
  const pooled = a.pooled && b.pooled;
  const ta = pooled || !a.pooled ? a.t : pooledToSpatial(call, a);
  const tb = pooled || !b.pooled ? b.t : pooledToSpatial(call, b);
  const t = tf.layers.multiply({ name: call.layerName() }).apply([ta, tb]) as tf.SymbolicTensor;
  return { t, pooled };
}

/**
 * A pooled value as [N, 1, 1, C]. A global pool is redone as an AveragePooling2D over the whole
 * map (exported as AveragePool, which every engine runs, where a Reshape to [N, C, 1, 1] is not).
 */
export function toSpatial(v: KValue, name: string): tf.SymbolicTensor {
  if (v.map) {
    const [, h, w] = v.map.shape as number[];
    const pool = tf.layers.averagePooling2d({
      poolSize: [h!, w!],
      strides: [h!, w!],
      padding: 'valid',
      name,
    });
    return pool.apply(v.map) as tf.SymbolicTensor;
  }
  const c = v.t.shape[1] as number;
  return tf.layers.reshape({ targetShape: [1, 1, c], name }).apply(v.t) as tf.SymbolicTensor;
}

function pooledToSpatial(call: OpCall, v: KValue): tf.SymbolicTensor {
  return toSpatial(v, call.layerName('unpool'));
}

const hardSwish: OpBuilder = (call) => {
  const x = computed(call, 0);
  const gate = affineClip(call, x, 1 / 6, 0.5, 0, 1);
  return multiply(call, x, gate);
};

const sigmoid: OpBuilder = (call) =>
  keep(computed(call, 0), tf.layers.activation({ activation: 'sigmoid', name: call.layerName() }));

/** Mul, Div, Add, Sub: two computed tensors, or one and a scalar constant. */
function binary(op: 'Mul' | 'Div' | 'Add' | 'Sub'): OpBuilder {
  return (call) => {
    const a = call.value(0);
    const b = call.value(1);
    if (a && b) {
      if (op === 'Mul') return multiply(call, a, b);
      if (op === 'Div') throw refuse(call.node, 'division by a computed tensor');
      const pooled = a.pooled && b.pooled;
      const ta = pooled || !a.pooled ? a.t : pooledToSpatial(call, a);
      const tb = pooled || !b.pooled ? b.t : pooledToSpatial(call, b);
      // tfjs has no Subtract layer: a − b is a + (−1·b).
      const rhs =
        op === 'Add'
          ? tb
          : (tf.layers
              .rescaling({ scale: -1, name: call.layerName('negate') })
              .apply(tb) as tf.SymbolicTensor);
      const t = tf.layers.add({ name: call.layerName() }).apply([ta, rhs]) as tf.SymbolicTensor;
      return { t, pooled };
    }
    const x = a ?? b;
    const cIndex = a ? 1 : 0;
    const c = call.constant(cIndex);
    if (!x || !c) throw refuse(call.node, 'needs a computed input');
    const k = scalarOf(call, c);
    const constantFirst = cIndex === 0;
    let scale = 1;
    let offset = 0;
    if (op === 'Mul') scale = k;
    else if (op === 'Add') offset = k;
    else if (op === 'Sub') [scale, offset] = constantFirst ? [-1, k] : [1, -k];
    else if (constantFirst) throw refuse(call.node, 'a constant divided by a tensor');
    else scale = 1 / k;
    return keep(x, tf.layers.rescaling({ scale, offset, name: call.layerName() }));
  };
}

/** MaxPool / AveragePool without padding (or SAME_UPPER): zero padding would change a max or a mean. */
function pool(kind: 'max' | 'avg'): OpBuilder {
  return (call) => {
    const { node } = call;
    const x = call.spatial(0);
    const kernel = attrInts(node, 'kernel_shape') ?? [];
    const strides = attrInts(node, 'strides') ?? [1, 1];
    const autoPad = attrString(node, 'auto_pad', 'NOTSET');
    if (kernel.length !== 2) throw refuse(node, 'only 2-D pooling');
    if ((attrInts(node, 'pads') ?? []).some((p) => p !== 0) || attrInt(node, 'ceil_mode', 0) !== 0) {
      throw refuse(node, 'padded or ceil-mode pooling');
    }
    if ((attrInts(node, 'dilations') ?? []).some((d) => d !== 1)) throw refuse(node, 'dilated pooling');
    if (autoPad !== 'NOTSET' && autoPad !== 'VALID') throw refuse(node, `auto_pad ${autoPad}`);
    const args = {
      poolSize: kernel as [number, number],
      strides: strides as [number, number],
      padding: 'valid' as const,
      name: call.layerName(),
    };
    const layer = kind === 'max' ? tf.layers.maxPooling2d(args) : tf.layers.averagePooling2d(args);
    return { t: layer.apply(x) as tf.SymbolicTensor, pooled: false };
  };
}

const globalAveragePool: OpBuilder = (call) => {
  const x = call.spatial(0);
  const t = tf.layers.globalAveragePooling2d({ name: call.layerName() }).apply(x) as tf.SymbolicTensor;
  return { t, pooled: true, map: x };
};

/** Flatten / Reshape to [N, D]: only where the element order does not depend on the layout. */
function toVector(call: OpCall, target?: number[]): KValue {
  const x = computed(call, 0);
  if (x.pooled || x.t.shape.length === 2) return { t: x.t, pooled: false };
  const [, h, w, c] = x.t.shape as number[];
  if (h !== 1 || w !== 1) {
    throw refuse(call.node, `flattening a ${h}×${w} map (NCHW and NHWC orders differ); pool it first`);
  }
  if (target && !(target.length === 2 && (target[1] === c || target[1] === -1))) {
    throw refuse(call.node, `reshape to [${target.join(', ')}]`);
  }
  return { t: tf.layers.flatten({ name: call.layerName() }).apply(x.t) as tf.SymbolicTensor, pooled: false };
}

const flatten: OpBuilder = (call) => {
  if (attrInt(call.node, 'axis', 1) !== 1) throw refuse(call.node, 'axis other than 1');
  return toVector(call);
};

const reshape: OpBuilder = (call) => {
  const shape = call.constant(1);
  if (!shape) throw refuse(call.node, 'the shape must be a constant');
  return toVector(call, Array.from(shape.data));
};

/** Gemm / MatMul with constant weights on [N, K] → Dense. */
function dense(call: OpCall, kernel: tf.Tensor2D, bias?: Float32Array): KValue {
  const x = computed(call, 0);
  if (x.t.shape.length !== 2 && !x.pooled) throw refuse(call.node, 'the input must be [N, K]');
  const units = kernel.shape[1];
  const layer = tf.layers.dense({
    units,
    useBias: bias !== undefined,
    name: call.layerName(),
  });
  return { t: applyWithWeights(layer, x.t, bias ? [kernel, bias] : [kernel]), pooled: false };
}

const gemm: OpBuilder = (call) => {
  const { node } = call;
  const b = call.constant(1);
  if (b?.dims.length !== 2) throw refuse(node, 'B must be a constant matrix');
  if (attrInt(node, 'transA', 0) !== 0) throw refuse(node, 'transA');
  const alpha = attrFloat(node, 'alpha', 1);
  const beta = attrFloat(node, 'beta', 1);
  const c = node.input?.[2] ? call.constant(2) : undefined;
  if (node.input?.[2] && !c) throw refuse(node, 'C must be a constant');
  const kernel = tf.tidy(() => {
    let k: tf.Tensor2D = tf.tensor2d(b.data, b.dims as [number, number]);
    if (attrInt(node, 'transB', 0) === 1) k = k.transpose();
    return alpha === 1 ? k : (k.mul(alpha) as tf.Tensor2D);
  });
  const units = kernel.shape[1];
  let bias: Float32Array | undefined;
  if (c) {
    if (c.data.length !== units && c.data.length !== 1) throw refuse(node, 'C must be a [units] vector');
    bias = new Float32Array(units);
    for (let i = 0; i < units; i++) bias[i] = beta * c.data[c.data.length === 1 ? 0 : i]!;
  }
  return dense(call, kernel, bias);
};

const matMul: OpBuilder = (call) => {
  const b = call.constant(1);
  if (b?.dims.length !== 2) throw refuse(call.node, 'the second input must be a constant matrix');
  return dense(call, tf.tensor2d(b.data, b.dims as [number, number]));
};

const concat: OpBuilder = (call) => {
  const n = call.node.input?.length ?? 0;
  const values = Array.from({ length: n }, (_, i) => computed(call, i));
  const pooled = values.every((v) => v.pooled);
  const rank = pooled ? 4 : values[0]!.t.shape.length;
  const axis = attrInt(call.node, 'axis', 1);
  if (axis !== 1 && axis !== 1 - rank) throw refuse(call.node, `axis ${axis} (only the channel axis)`);
  const ts = values.map((v, i) => (pooled || !v.pooled ? v.t : call.spatial(i)));
  const t = tf.layers.concatenate({ axis: -1, name: call.layerName() }).apply(ts) as tf.SymbolicTensor;
  return { t, pooled };
};

const passThrough: OpBuilder = (call) => computed(call, 0);

export const OP_BUILDERS: Readonly<Record<string, OpBuilder>> = {
  Conv: conv,
  BatchNormalization: batchNorm,
  Relu: relu,
  Clip: clip,
  HardSigmoid: hardSigmoid,
  HardSwish: hardSwish,
  Sigmoid: sigmoid,
  Mul: binary('Mul'),
  Div: binary('Div'),
  Add: binary('Add'),
  Sub: binary('Sub'),
  MaxPool: pool('max'),
  AveragePool: pool('avg'),
  GlobalAveragePool: globalAveragePool,
  Flatten: flatten,
  Reshape: reshape,
  Gemm: gemm,
  MatMul: matMul,
  Concat: concat,
  Identity: passThrough,
  Dropout: passThrough,
};

/** ONNX op types the suffix may contain. */
export const SUFFIX_OPS: ReadonlySet<string> = new Set(Object.keys(OP_BUILDERS));
