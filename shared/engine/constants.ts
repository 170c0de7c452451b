/** Constant tensors of a model (initializers and Constant nodes) and activation parameters. */
import { attrFloat, attrTensor } from '../onnx/attributes.ts';
import {
  type ModelProto,
  type NodeProto,
  type TensorProto,
  TensorDataType,
  toNumber,
} from '../onnx/proto.ts';
import { readTensorFloat32, readTensorInts } from '../onnx/tensor.ts';

export interface ConstTensor {
  data: Float32Array;
  dims: number[];
}

export class ModelConstants {
  private readonly protos = new Map<string, TensorProto>();
  private readonly cache = new Map<string, ConstTensor>();

  constructor(model: ModelProto) {
    for (const t of model.graph?.initializer ?? []) if (t.name) this.protos.set(t.name, t);
    for (const node of model.graph?.node ?? []) {
      const value = node.opType === 'Constant' ? attrTensor(node, 'value') : undefined;
      const out = node.output?.[0];
      if (value && out) this.protos.set(out, value);
    }
  }

  has(name: string | undefined): boolean {
    return name !== undefined && name !== '' && this.protos.has(name);
  }

  isFloat(name: string | undefined): boolean {
    const t = name ? this.protos.get(name) : undefined;
    return t !== undefined && (t.dataType === TensorDataType.FLOAT || t.dataType === TensorDataType.DOUBLE);
  }

  floats(name: string): ConstTensor {
    let c = this.cache.get(name);
    if (!c) {
      const t = this.protos.get(name);
      if (!t) throw new Error(`no constant ${name}`);
      c = { data: readTensorFloat32(t), dims: (t.dims ?? []).map(toNumber) };
      this.cache.set(name, c);
    }
    return c;
  }

  ints(name: string): number[] {
    const t = this.protos.get(name);
    if (!t) throw new Error(`no constant ${name}`);
    return readTensorInts(t);
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
