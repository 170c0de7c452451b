/**
 * Static shape inference for the CNN op subset (enough to count MACs and to give appended
 * outputs a shape). Symbolic dims ('N') flow through; a dim nobody can know becomes '?'; an op
 * we do not model leaves its outputs unknown instead of failing.
 */
import { attrFloats, attrInt, attrInts, attrString, attrTensor } from './attributes.ts';
import type { Dim } from './builder.ts';
import {
  type ModelProto,
  type NodeProto,
  type TensorProto,
  TensorDataType,
  toNumber,
  type ValueInfoProto,
} from './proto.ts';
import { readTensorFloat32, readTensorInts } from './tensor.ts';
import { windowAttrs, windowOutputSize } from './window.ts';

export interface TensorInfo {
  elemType: number;
  /** undefined = rank unknown. */
  shape?: Dim[];
}

export const UNKNOWN_DIM = '?';

/** Shape-like constants (INT32/INT64 up to this many elements) are tracked by value. */
const MAX_CONST_ELEMENTS = 64;

export function isStatic(shape: readonly Dim[] | undefined): shape is number[] {
  return !!shape?.every((d) => typeof d === 'number');
}

export function shapeFromValueInfo(vi: ValueInfoProto): TensorInfo | undefined {
  const tt = vi.type?.tensorType;
  if (!tt) return undefined;
  const info: TensorInfo = { elemType: tt.elemType ?? 0 };
  if (tt.shape) {
    info.shape = (tt.shape.dim ?? []).map((d) => {
      if (d.dimParam) return d.dimParam;
      // proto2 decoding leaves defaults on the prototype: only an own value was on the wire.
      if (d.dimValue != null && Object.hasOwn(d, 'dimValue')) return toNumber(d.dimValue);
      return UNKNOWN_DIM;
    });
  }
  return info;
}

function add(...dims: Dim[]): Dim {
  return dims.every((d) => typeof d === 'number')
    ? (dims as number[]).reduce((a, b) => a + b, 0)
    : UNKNOWN_DIM;
}

function product(dims: readonly Dim[]): Dim {
  return dims.every((d) => typeof d === 'number')
    ? (dims as number[]).reduce((a, b) => a * b, 1)
    : UNKNOWN_DIM;
}

function broadcast(shapes: (Dim[] | undefined)[]): Dim[] | undefined {
  if (shapes.some((s) => s === undefined)) return undefined;
  const all = shapes as Dim[][];
  const rank = Math.max(...all.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let d: Dim = 1;
    for (const s of all) {
      const x = s[s.length - rank + i] ?? 1;
      if (x === 1) continue;
      if (d === 1) d = x;
      else if (d !== x)
        d = typeof d === 'number' && typeof x === 'number' ? UNKNOWN_DIM : d === UNKNOWN_DIM ? x : d;
    }
    out.push(d);
  }
  return out;
}

function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** Shape inference state over one graph. */
class Inference {
  readonly tensors = new Map<string, TensorInfo>();
  readonly consts = new Map<string, number[]>();
  readonly symbolic = new Map<string, Dim[]>();
  readonly initializers = new Map<string, TensorProto>();

  constructor(readonly opset: number) {}

  info(name: string | undefined): TensorInfo | undefined {
    return name ? this.tensors.get(name) : undefined;
  }

  shape(name: string | undefined): Dim[] | undefined {
    return this.info(name)?.shape;
  }

  elem(name: string | undefined): number {
    return this.info(name)?.elemType ?? TensorDataType.UNDEFINED;
  }

  constInts(name: string | undefined): number[] | undefined {
    return name ? this.consts.get(name) : undefined;
  }

  constFloats(name: string | undefined): number[] | undefined {
    const t = name ? this.initializers.get(name) : undefined;
    if (!t || (t.dataType !== TensorDataType.FLOAT && t.dataType !== TensorDataType.DOUBLE)) return undefined;
    return Array.from(readTensorFloat32(t));
  }

  addTensor(t: TensorProto): void {
    const name = t.name ?? '';
    const dims = (t.dims ?? []).map(toNumber);
    this.tensors.set(name, { elemType: t.dataType ?? 0, shape: dims });
    if (
      (t.dataType === TensorDataType.INT64 || t.dataType === TensorDataType.INT32) &&
      dims.reduce((a, b) => a * b, 1) <= MAX_CONST_ELEMENTS
    ) {
      this.consts.set(name, readTensorInts(t));
    }
  }

  run(node: NodeProto): void {
    const out = node.output ?? [];
    const results = this.infer(node);
    results.forEach((r, i) => {
      const name = out[i];
      if (name && r) this.tensors.set(name, r);
    });
    const value = this.shapeValue(node);
    if (value && out[0]) {
      this.symbolic.set(out[0], value);
      if (isStatic(value) && !this.consts.has(out[0])) this.consts.set(out[0], value);
    }
  }

  /** A 1-D integer tensor's values where dims may be symbolic (shape arithmetic). */
  values(name: string | undefined): Dim[] | undefined {
    if (!name) return undefined;
    return this.symbolic.get(name) ?? this.consts.get(name);
  }

  /**
   * The values of shape arithmetic as torch.onnx emits it (Shape→Gather→Unsqueeze→Concat, Slice,
   * Squeeze, Cast), symbolic dims included, so a Reshape to [batch, -1] gets its shape.
   */
  private shapeValue(node: NodeProto): Dim[] | undefined {
    const ins = node.input ?? [];
    switch (node.opType) {
      case 'Shape': {
        const xs = this.shape(ins[0]);
        if (!xs) return undefined;
        const start = normAxis(attrInt(node, 'start', 0), xs.length);
        return xs.slice(start, normAxis(attrInt(node, 'end', xs.length), xs.length));
      }
      case 'Gather': {
        const data = this.values(ins[0]);
        const idx = this.constInts(ins[1]);
        return data && idx ? idx.map((i) => data[normAxis(i, data.length)]!) : undefined;
      }
      case 'Unsqueeze':
      case 'Squeeze':
      case 'Cast':
      case 'Identity':
        return this.values(ins[0]);
      case 'Concat': {
        const parts = ins.map((i) => this.values(i));
        return parts.every((p) => p !== undefined) ? (parts as Dim[][]).flat() : undefined;
      }
      case 'Slice': {
        const data = this.values(ins[0]);
        const [starts, ends, axes, steps] = [1, 2, 3, 4].map((i) => this.constInts(ins[i]));
        if (!data || !starts || !ends || axes?.some((a) => a !== 0 && a !== -1)) return undefined;
        if (steps && steps[0] !== 1) return undefined;
        const clamp = (v: number) => Math.max(0, Math.min(data.length, v < 0 ? v + data.length : v));
        return data.slice(clamp(starts[0]!), clamp(ends[0]!));
      }
      default:
        return undefined;
    }
  }

  private same(node: NodeProto, elemType?: number): (TensorInfo | undefined)[] {
    const x = node.input?.[0];
    return [{ elemType: elemType ?? this.elem(x), shape: this.shape(x) }];
  }

  private infer(node: NodeProto): (TensorInfo | undefined)[] {
    const ins = node.input ?? [];
    const x = ins[0];
    const xs = this.shape(x);
    const et = this.elem(x);
    switch (node.opType) {
      case 'Relu':
      case 'Clip':
      case 'LeakyRelu':
      case 'Elu':
      case 'Selu':
      case 'Sigmoid':
      case 'Tanh':
      case 'HardSwish':
      case 'HardSigmoid':
      case 'Identity':
      case 'Softmax':
      case 'LogSoftmax':
      case 'LpNormalization':
      case 'Neg':
      case 'Abs':
      case 'Exp':
      case 'Log':
      case 'Sqrt':
      case 'Reciprocal':
      case 'Erf':
      case 'Floor':
      case 'Ceil':
      case 'Round':
      case 'Softplus':
      case 'Gelu':
      case 'Mish':
      case 'PRelu':
      case 'LRN':
      case 'InstanceNormalization':
      case 'LayerNormalization':
      case 'BatchNormalization':
        return this.same(node);
      case 'Dropout':
        return [...this.same(node), { elemType: TensorDataType.BOOL, shape: xs }];
      case 'Cast':
        return this.same(node, attrInt(node, 'to', et));
      case 'Add':
      case 'Sub':
      case 'Mul':
      case 'Div':
      case 'Pow':
      case 'Max':
      case 'Min':
      case 'Sum':
      case 'Mean':
        return [{ elemType: et, shape: broadcast(ins.map((i) => this.shape(i))) }];
      case 'Equal':
      case 'Less':
      case 'Greater':
      case 'And':
      case 'Or':
        return [{ elemType: TensorDataType.BOOL, shape: broadcast(ins.map((i) => this.shape(i))) }];
      case 'Where':
        return [{ elemType: this.elem(ins[1]), shape: broadcast(ins.map((i) => this.shape(i))) }];
      case 'Conv':
        return [{ elemType: et, shape: this.conv(node, xs, this.shape(ins[1])) }];
      case 'ConvTranspose':
        return [{ elemType: et, shape: this.convTranspose(node, xs, this.shape(ins[1])) }];
      case 'MaxPool':
      case 'AveragePool':
      case 'LpPool': {
        const y = { elemType: et, shape: this.pool(node, xs) };
        return [y, { elemType: TensorDataType.INT64, shape: y.shape }];
      }
      case 'GlobalAveragePool':
      case 'GlobalMaxPool':
      case 'GlobalLpPool':
        return [{ elemType: et, shape: xs && [...xs.slice(0, 2), ...xs.slice(2).map(() => 1)] }];
      case 'Flatten': {
        if (!xs) return [{ elemType: et }];
        const axis = normAxis(attrInt(node, 'axis', 1), xs.length);
        const part = (p: Dim[]) => (p.length === 1 ? p[0]! : product(p));
        return [{ elemType: et, shape: [part(xs.slice(0, axis)), part(xs.slice(axis))] }];
      }
      case 'Slice':
        return [{ elemType: et, shape: this.slice(node, xs) }];
      case 'Reshape':
        return [{ elemType: et, shape: this.reshape(node, xs, this.values(ins[1])) }];
      case 'Transpose': {
        if (!xs) return [{ elemType: et }];
        const perm = attrInts(node, 'perm') ?? xs.map((_, i) => xs.length - 1 - i);
        return [{ elemType: et, shape: perm.map((p) => xs[p] ?? UNKNOWN_DIM) }];
      }
      case 'Pad':
        return [{ elemType: et, shape: this.pad(node, xs) }];
      case 'Gemm':
        return [{ elemType: et, shape: this.gemm(node, xs, this.shape(ins[1])) }];
      case 'MatMul':
        return [{ elemType: et, shape: matmulShape(xs, this.shape(ins[1])) }];
      case 'Concat': {
        // Shape vectors are often assembled by concatenating constants (Shape→Gather→Concat).
        const parts = ins.map((i) => this.constInts(i));
        const out = node.output?.[0];
        if (out && parts.every((p) => p !== undefined)) this.consts.set(out, parts.flat());
        const shapes = ins.map((i) => this.shape(i));
        return [{ elemType: et, shape: this.concat(node, shapes) }];
      }
      case 'Squeeze':
        return [{ elemType: et, shape: this.squeeze(node, xs) }];
      case 'Unsqueeze':
        return [{ elemType: et, shape: this.unsqueeze(node, xs) }];
      case 'Resize':
      case 'Upsample':
        return [{ elemType: et, shape: this.resize(node, xs) }];
      case 'ReduceMean':
      case 'ReduceSum':
      case 'ReduceMax':
      case 'ReduceMin':
      case 'ReduceProd':
      case 'ReduceL1':
      case 'ReduceL2':
      case 'ArgMax':
      case 'ArgMin':
        return [
          {
            elemType: node.opType === 'ArgMax' || node.opType === 'ArgMin' ? TensorDataType.INT64 : et,
            shape: this.reduce(node, xs),
          },
        ];
      case 'Shape':
        return [this.shapeOp(node, xs)];
      case 'Gather':
        return [this.gather(node, xs)];
      case 'Constant':
        return [this.constant(node)];
      default:
        return [];
    }
  }

  private conv(node: NodeProto, xs?: Dim[], ws?: Dim[]): Dim[] | undefined {
    if (!xs || !ws) return undefined;
    const kernel = attrInts(node, 'kernel_shape') ?? ws.slice(2);
    const spatial = windowed(node, xs.slice(2), kernel, false);
    return [xs[0]!, ws[0]!, ...spatial];
  }

  private convTranspose(node: NodeProto, xs?: Dim[], ws?: Dim[]): Dim[] | undefined {
    if (!xs || !ws) return undefined;
    const group = attrInt(node, 'group', 1);
    const outC = typeof ws[1] === 'number' ? ws[1] * group : UNKNOWN_DIM;
    const given = attrInts(node, 'output_shape');
    if (given) return [xs[0]!, outC, ...given.slice(-(xs.length - 2))];
    const kernel = attrInts(node, 'kernel_shape') ?? ws.slice(2);
    const n = xs.length - 2;
    const strides = attrInts(node, 'strides') ?? Array(n).fill(1);
    const dil = attrInts(node, 'dilations') ?? Array(n).fill(1);
    const pads = attrInts(node, 'pads') ?? Array(2 * n).fill(0);
    const outPad = attrInts(node, 'output_padding') ?? Array(n).fill(0);
    const autoPad = attrString(node, 'auto_pad', 'NOTSET');
    const spatial = xs.slice(2).map((d, i): Dim => {
      const k = kernel[i];
      if (typeof d !== 'number' || typeof k !== 'number') return UNKNOWN_DIM;
      if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') return d * strides[i]!;
      return strides[i]! * (d - 1) + outPad[i]! + (k - 1) * dil[i]! + 1 - pads[i]! - pads[i + n]!;
    });
    return [xs[0]!, outC, ...spatial];
  }

  private pool(node: NodeProto, xs?: Dim[]): Dim[] | undefined {
    if (!xs) return undefined;
    const kernel = attrInts(node, 'kernel_shape');
    if (!kernel) return undefined;
    return [xs[0]!, xs[1]!, ...windowed(node, xs.slice(2), kernel, attrInt(node, 'ceil_mode', 0) === 1)];
  }

  private reshape(node: NodeProto, xs?: Dim[], target?: Dim[]): Dim[] | undefined {
    if (!target) return undefined;
    const allowZero = attrInt(node, 'allowzero', 0) === 1;
    const out: Dim[] = target.map((t, i) => (t === 0 && !allowZero ? (xs?.[i] ?? UNKNOWN_DIM) : t));
    // A symbolic entry (the batch from Shape) is that dim: -1 is then the product of the rest.
    if (xs && out.length === 2 && typeof out[0] === 'string' && out[0] === xs[0] && out[1] === -1) {
      return [out[0], product(xs.slice(1))];
    }
    const minus = out.indexOf(-1);
    if (minus >= 0) {
      const total = xs ? product(xs) : UNKNOWN_DIM;
      const rest = product(out.filter((_, i) => i !== minus));
      out[minus] =
        typeof total === 'number' && typeof rest === 'number' && rest > 0 ? total / rest : UNKNOWN_DIM;
      // A symbolic batch with everything else static: the -1 dim is that batch (e.g. [-1, 1280]).
      if (out[minus] === UNKNOWN_DIM && xs && typeof rest === 'number') {
        const symbolic = xs.filter((d) => typeof d !== 'number');
        const known = product(xs.filter((d) => typeof d === 'number'));
        if (symbolic.length === 1 && known === rest) out[minus] = symbolic[0]!;
      }
    }
    return out;
  }

  /** Slice (opset 10+: starts/ends/axes/steps as constant inputs; before: attributes). */
  private slice(node: NodeProto, xs?: Dim[]): Dim[] | undefined {
    if (!xs) return undefined;
    const ins = node.input ?? [];
    const starts = attrInts(node, 'starts') ?? this.constInts(ins[1]);
    const ends = attrInts(node, 'ends') ?? this.constInts(ins[2]);
    if (!starts || !ends) return undefined;
    const axes = (attrInts(node, 'axes') ?? this.constInts(ins[3]) ?? starts.map((_, i) => i)).map((a) =>
      normAxis(a, xs.length),
    );
    const steps = this.constInts(ins[4]) ?? axes.map(() => 1);
    const out = xs.slice();
    axes.forEach((a, i) => {
      const d = xs[a];
      const step = steps[i]!;
      if (typeof d !== 'number' || step === 0) {
        out[a] = UNKNOWN_DIM;
        return;
      }
      const clamp = (v: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, v < 0 ? v + d : v));
      if (step > 0) {
        const b = clamp(starts[i]!, 0, d);
        const e = clamp(ends[i]!, 0, d);
        out[a] = Math.max(0, Math.ceil((e - b) / step));
      } else {
        const b = clamp(starts[i]!, -1, d - 1);
        const e = clamp(ends[i]!, -1, d - 1);
        out[a] = Math.max(0, Math.ceil((b - e) / -step));
      }
    });
    return out;
  }

  private pad(node: NodeProto, xs?: Dim[]): Dim[] | undefined {
    if (!xs) return undefined;
    const ins = node.input ?? [];
    const pads = this.opset >= 11 ? this.constInts(ins[1]) : attrInts(node, 'pads');
    if (!pads) return undefined;
    const axes = this.constInts(ins[3])?.map((a) => normAxis(a, xs.length)) ?? xs.map((_, i) => i);
    const out = xs.slice();
    axes.forEach((a, i) => {
      out[a] = add(xs[a]!, pads[i]!, pads[i + axes.length]!);
    });
    return out;
  }

  private gemm(node: NodeProto, as?: Dim[], bs?: Dim[]): Dim[] | undefined {
    if (!as || !bs || as.length !== 2 || bs.length !== 2) return undefined;
    const m = attrInt(node, 'transA', 0) ? as[1]! : as[0]!;
    const n = attrInt(node, 'transB', 0) ? bs[0]! : bs[1]!;
    return [m, n];
  }

  private concat(node: NodeProto, shapes: (Dim[] | undefined)[]): Dim[] | undefined {
    const first = shapes[0];
    if (!first || shapes.some((s) => !s || s.length !== first.length)) return undefined;
    const axis = normAxis(attrInt(node, 'axis', 0), first.length);
    const out = first.slice();
    out[axis] = add(...shapes.map((s) => s![axis]!));
    return out;
  }

  /** Axes as an attribute (older opsets) or a constant second input (newer ones). */
  private axesOf(node: NodeProto): number[] | undefined {
    return attrInts(node, 'axes') ?? this.constInts(node.input?.[1]);
  }

  private squeeze(node: NodeProto, xs?: Dim[]): Dim[] | undefined {
    if (!xs) return undefined;
    const axes = this.axesOf(node)?.map((a) => normAxis(a, xs.length));
    if (!axes) return xs.some((d) => typeof d !== 'number') ? undefined : xs.filter((d) => d !== 1);
    return xs.filter((_, i) => !axes.includes(i));
  }

  private unsqueeze(node: NodeProto, xs?: Dim[]): Dim[] | undefined {
    const axes = this.axesOf(node);
    if (!xs || !axes) return undefined;
    const rank = xs.length + axes.length;
    const set = new Set(axes.map((a) => normAxis(a, rank)));
    const out: Dim[] = [];
    let j = 0;
    for (let i = 0; i < rank; i++) out.push(set.has(i) ? 1 : xs[j++]!);
    return out;
  }

  private resize(node: NodeProto, xs?: Dim[]): Dim[] | undefined {
    if (!xs) return undefined;
    const ins = node.input ?? [];
    const sizes = node.opType === 'Resize' && this.opset >= 11 ? this.constInts(ins[3]) : undefined;
    if (sizes && sizes.length === xs.length) return sizes;
    const scalesName = node.opType === 'Upsample' || this.opset < 11 ? ins[1] : ins[2];
    const scales = this.constFloats(scalesName) ?? attrFloats(node, 'scales');
    if (!scales || scales.length !== xs.length) return undefined;
    return xs.map((d, i) =>
      typeof d === 'number' ? Math.floor(d * scales[i]!) : scales[i] === 1 ? d : UNKNOWN_DIM,
    );
  }

  private reduce(node: NodeProto, xs?: Dim[]): Dim[] | undefined {
    if (!xs) return undefined;
    const keep = attrInt(node, 'keepdims', 1) === 1;
    if (node.opType === 'ArgMax' || node.opType === 'ArgMin') {
      const axis = normAxis(attrInt(node, 'axis', 0), xs.length);
      return keep ? xs.map((d, i) => (i === axis ? 1 : d)) : xs.filter((_, i) => i !== axis);
    }
    const axesRaw = this.axesOf(node);
    if (!axesRaw && node.input?.[1]) return undefined;
    const axes = axesRaw?.length
      ? axesRaw.map((a) => normAxis(a, xs.length))
      : attrInt(node, 'noop_with_empty_axes', 0)
        ? []
        : xs.map((_, i) => i);
    return keep ? xs.map((d, i) => (axes.includes(i) ? 1 : d)) : xs.filter((_, i) => !axes.includes(i));
  }

  private shapeOp(node: NodeProto, xs?: Dim[]): TensorInfo {
    if (!xs) return { elemType: TensorDataType.INT64, shape: [UNKNOWN_DIM] };
    const start = normAxis(attrInt(node, 'start', 0), xs.length);
    const end = normAxis(attrInt(node, 'end', xs.length), xs.length);
    const dims = xs.slice(start, end);
    const out = node.output?.[0];
    if (out && isStatic(dims)) this.consts.set(out, dims);
    return { elemType: TensorDataType.INT64, shape: [dims.length] };
  }

  private gather(node: NodeProto, xs?: Dim[]): TensorInfo {
    const ins = node.input ?? [];
    const et = this.elem(ins[0]);
    const is = this.shape(ins[1]);
    if (!xs || !is) return { elemType: et };
    const axis = normAxis(attrInt(node, 'axis', 0), xs.length);
    const data = this.constInts(ins[0]);
    const idx = this.constInts(ins[1]);
    const out = node.output?.[0];
    if (out && data && idx && xs.length === 1)
      this.consts.set(
        out,
        idx.map((i) => data[normAxis(i, data.length)]!),
      );
    return { elemType: et, shape: [...xs.slice(0, axis), ...is, ...xs.slice(axis + 1)] };
  }

  private constant(node: NodeProto): TensorInfo | undefined {
    const out = node.output?.[0] ?? '';
    const t = attrTensor(node, 'value');
    if (t) {
      this.addTensor({ ...t, name: out });
      if (t.dataType === TensorDataType.FLOAT || t.dataType === TensorDataType.DOUBLE) {
        this.initializers.set(out, { ...t, name: out });
      }
      return this.tensors.get(out);
    }
    const vi = attrInts(node, 'value_ints');
    if (vi) {
      this.consts.set(out, vi);
      return { elemType: TensorDataType.INT64, shape: [vi.length] };
    }
    const v = attrInt(node, 'value_int');
    if (v !== undefined) {
      this.consts.set(out, [v]);
      return { elemType: TensorDataType.INT64, shape: [] };
    }
    const vf = attrFloats(node, 'value_floats');
    if (vf) return { elemType: TensorDataType.FLOAT, shape: [vf.length] };
    if (node.attribute?.some((a) => a.name === 'value_float'))
      return { elemType: TensorDataType.FLOAT, shape: [] };
    return undefined;
  }
}

/** Output spatial dims of a sliding window (Conv / pooling) with pads, strides, dilations. */
function windowed(node: NodeProto, spatial: Dim[], kernel: Dim[], ceilMode: boolean): Dim[] {
  const attrs = windowAttrs(node, spatial.length);
  return spatial.map((d, i): Dim => {
    const k = kernel[i];
    if (typeof d !== 'number' || typeof k !== 'number') return UNKNOWN_DIM;
    return windowOutputSize(attrs, i, d, k, ceilMode);
  });
}

/** numpy matmul shape rule, with 1-D operands promoted and the promoted dim dropped. */
export function matmulShape(as?: Dim[], bs?: Dim[]): Dim[] | undefined {
  if (!as || !bs || as.length === 0 || bs.length === 0) return undefined;
  const a = as.length === 1 ? [1, as[0]!] : as;
  const b = bs.length === 1 ? [bs[0]!, 1] : bs;
  const batch = broadcast([a.slice(0, -2), b.slice(0, -2)]) ?? [];
  const out: Dim[] = [...batch];
  if (as.length > 1) out.push(a[a.length - 2]!);
  if (bs.length > 1) out.push(b[b.length - 1]!);
  return out;
}

/** How much of a shape is unknown: an unknown rank counts as worse than any unknown dims. */
function unknownDims(shape: readonly Dim[] | undefined): number {
  return shape ? shape.filter((d) => d === UNKNOWN_DIM).length : Number.POSITIVE_INFINITY;
}

/**
 * Infer type and shape of every tensor the model's main graph computes. Graph inputs and
 * initializers seed it; value_info fills in where an op is not modelled.
 */
export function inferShapes(model: ModelProto): Map<string, TensorInfo> {
  const opset = toNumber(model.opsetImport?.find((o) => !o.domain)?.version) || 17;
  const inf = new Inference(opset);
  const g = model.graph;
  if (!g) return inf.tensors;
  const hints = new Map<string, TensorInfo>();
  for (const vi of [...(g.valueInfo ?? []), ...(g.output ?? [])]) {
    const info = shapeFromValueInfo(vi);
    if (vi.name && info) hints.set(vi.name, info);
  }
  for (const t of g.initializer ?? []) {
    inf.addTensor(t);
    if (t.name) inf.initializers.set(t.name, t);
  }
  for (const vi of g.input ?? []) {
    const info = shapeFromValueInfo(vi);
    // A graph input that is also an initializer (old IR): the input declares the overridable type.
    if (vi.name && info && !inf.tensors.has(vi.name)) inf.tensors.set(vi.name, info);
  }
  for (const node of g.node ?? []) {
    try {
      inf.run(node);
    } catch {
      // A malformed node leaves its outputs unknown; validation reports structural problems.
    }
    for (const o of node.output ?? []) {
      const known = inf.tensors.get(o);
      const hint = hints.get(o);
      if (hint?.shape && unknownDims(hint.shape) < unknownDims(known?.shape)) inf.tensors.set(o, hint);
    }
  }
  return inf.tensors;
}
