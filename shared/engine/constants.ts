/** Constant tensors of a model (initializers and Constant nodes) and activation parameters. */
import { attrFloat, attrInt, attrTensor } from '../onnx/attributes.ts';
import {
  type ModelProto,
  type NodeProto,
  type TensorProto,
  TensorDataType,
  toNumber,
} from '../onnx/proto.ts';
import { readTensorFloat32, readTensorInts, tensorElementCount } from '../onnx/tensor.ts';

export interface ConstTensor {
  data: Float32Array;
  dims: number[];
}

/** A DequantizeLinear of constant int8 codes with zero point 0: symmetric per-channel weights. */
export interface QuantizedConst {
  readonly codes: Int8Array;
  /** One scale per index of `axis` (or a single per-tensor scale). */
  scales: Float32Array;
  axis: number;
  dims: number[];
}

interface DequantizeSource {
  x: string;
  scale: string;
  zp?: string;
  axis: number;
}

export class ModelConstants {
  private readonly protos = new Map<string, TensorProto>();
  private readonly cache = new Map<string, ConstTensor>();
  /** Outputs of DequantizeLinear nodes whose inputs are all constants (QDQ weights). */
  private readonly dequantized = new Map<string, DequantizeSource>();
  private readonly quantizedCache = new Map<string, QuantizedConst | undefined>();
  /**
   * Zero points and shapes: read by the support check and again by several lowerings (weight-sized
   * codes are read through `codes`, never kept here).
   */
  private readonly intsCache = new Map<string, readonly number[]>();

  constructor(model: ModelProto) {
    for (const t of model.graph?.initializer ?? []) if (t.name) this.protos.set(t.name, t);
    for (const node of model.graph?.node ?? []) {
      const value = node.opType === 'Constant' ? attrTensor(node, 'value') : undefined;
      const out = node.output?.[0];
      if (value && out) this.protos.set(out, value);
      const [x, scale, zp] = node.input ?? [];
      if (
        node.opType === 'DequantizeLinear' &&
        !node.domain &&
        out &&
        x &&
        scale &&
        this.protos.has(x) &&
        this.protos.has(scale) &&
        (!zp || this.protos.has(zp))
      ) {
        this.dequantized.set(out, { x, scale, zp: zp || undefined, axis: attrInt(node, 'axis', 1) });
      }
    }
  }

  has(name: string | undefined): boolean {
    return name !== undefined && name !== '' && (this.protos.has(name) || this.dequantized.has(name));
  }

  isFloat(name: string | undefined): boolean {
    if (name && this.dequantized.has(name)) return true;
    const t = name ? this.protos.get(name) : undefined;
    return t !== undefined && (t.dataType === TensorDataType.FLOAT || t.dataType === TensorDataType.DOUBLE);
  }

  /** The ONNX element type of a stored constant (a constant DequantizeLinear is FLOAT). */
  dataType(name: string): number | undefined {
    return this.dequantized.has(name) ? TensorDataType.FLOAT : (this.protos.get(name)?.dataType ?? undefined);
  }

  /** The tensor's values as float32 (a constant DequantizeLinear is evaluated). */
  floats(name: string): ConstTensor {
    let c = this.cache.get(name);
    if (!c) {
      const dq = this.dequantized.get(name);
      if (dq) c = this.dequantize(dq);
      else {
        const t = this.protos.get(name);
        if (!t) throw new Error(`no constant ${name}`);
        c = { data: readTensorFloat32(t), dims: (t.dims ?? []).map(toNumber) };
      }
      this.cache.set(name, c);
    }
    return c;
  }

  /** A constant DequantizeLinear of int8 codes with zero point 0 (what int8 kernels take). */
  quantized(name: string | undefined): QuantizedConst | undefined {
    if (!name) return undefined;
    if (this.quantizedCache.has(name)) return this.quantizedCache.get(name);
    const dq = this.dequantized.get(name);
    let q: QuantizedConst | undefined;
    if (dq && this.protos.get(dq.x)?.dataType === TensorDataType.INT8 && !(dq.zp && !this.allZero(dq.zp))) {
      const x = this.protos.get(dq.x)!;
      const dims = (x.dims ?? []).map(toNumber);
      const scales = this.floats(dq.scale).data;
      const axis = dq.axis < 0 ? dq.axis + dims.length : dq.axis;
      if (scales.length === 1 || scales.length === dims[axis]) {
        // Read on first use: a lowering whose packed form is already stored (a restored
        // artifact, whose graph may carry no codes at all) never reads them.
        let codes: Int8Array | undefined;
        const read = () => this.codes(dq.x);
        q = {
          get codes() {
            codes ??= read();
            return codes;
          },
          scales,
          axis,
          dims,
        };
      }
    }
    this.quantizedCache.set(name, q);
    return q;
  }

  /**
   * Whether integer constant `name` holds only zeros. A weight's per-channel zero points are
   * checked on every cold start: in raw 1-byte form with `some(Boolean)`, a builtin pass that runs
   * no interpreted code per element (what a cold isolate would otherwise pay for each of them).
   */
  private allZero(name: string): boolean {
    const t = this.protos.get(name);
    const raw = t?.rawData;
    const byteSized = t?.dataType === TensorDataType.INT8 || t?.dataType === TensorDataType.UINT8;
    if (t && raw && byteSized && raw.length > 0 && raw.length === tensorElementCount(t))
      return !raw.some(Boolean);
    return this.ints(name).every((z) => z === 0);
  }

  /** int8/uint8 tensor values: a view of raw_data when it has one (a cold start reads every weight). */
  private codes(name: string): Int8Array {
    const t = this.protos.get(name)!;
    const raw = t.rawData;
    if (raw && raw.length > 0 && raw.length === (t.dims ?? []).map(toNumber).reduce((a, b) => a * b, 1)) {
      return new Int8Array(raw.buffer, raw.byteOffset, raw.length);
    }
    return Int8Array.from(readTensorInts(t));
  }

  private dequantize(dq: DequantizeSource): ConstTensor {
    const x = this.protos.get(dq.x)!;
    const dims = (x.dims ?? []).map(toNumber);
    const codes =
      this.protos.get(dq.x)?.dataType === TensorDataType.INT8 ? this.codes(dq.x) : readTensorInts(x);
    const scales = this.floats(dq.scale).data;
    const zps = dq.zp ? this.ints(dq.zp) : [0];
    const axis = dq.axis < 0 ? dq.axis + dims.length : dq.axis;
    const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
    const channels = scales.length === 1 ? 1 : dims[axis]!;
    const data = new Float32Array(codes.length);
    for (let i = 0; i < codes.length; i++) {
      const c = channels === 1 ? 0 : Math.floor(i / inner) % channels;
      data[i] = (codes[i]! - (zps[c] ?? zps[0]!)) * scales[c]!;
    }
    return { data, dims };
  }

  ints(name: string): readonly number[] {
    let v = this.intsCache.get(name);
    if (!v) {
      const t = this.protos.get(name);
      if (!t) throw new Error(`no constant ${name}`);
      v = readTensorInts(t);
      this.intsCache.set(name, v);
    }
    return v;
  }
}

/** Fused epilogue: clamp to [lo, hi], then HardSwish when hs = 1. */
export interface Act {
  lo: number;
  hi: number;
  hs: number;
}

export const NO_ACT: Act = { lo: Number.NEGATIVE_INFINITY, hi: Number.POSITIVE_INFINITY, hs: 0 };

export const FUSABLE_ACTS = new Set(['Relu', 'Clip', 'HardSwish']);

/** The epilogue for a Relu/Clip/HardSwish node (HardSwish only with ONNX's alpha 1/6, beta 1/2). */
export function actOf(node: NodeProto, consts: ModelConstants): Act | undefined {
  switch (node.opType) {
    case 'Relu':
      return { lo: 0, hi: Number.POSITIVE_INFINITY, hs: 0 };
    case 'HardSwish':
      return { ...NO_ACT, hs: 1 };
    case 'Clip': {
      const bound = (i: number, attr: string, fallback: number): number | undefined => {
        const name = node.input?.[i];
        if (name) return consts.isFloat(name) ? consts.floats(name).data[0] : undefined;
        return attrFloat(node, attr, fallback);
      };
      const lo = bound(1, 'min', Number.NEGATIVE_INFINITY);
      const hi = bound(2, 'max', Number.POSITIVE_INFINITY);
      return lo === undefined || hi === undefined ? undefined : { lo, hi, hs: 0 };
    }
    default:
      return undefined;
  }
}
