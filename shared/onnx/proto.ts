/**
 * ONNX ModelProto codec on the `onnx-proto` package (protobufjs static code, ONNX 1.10 schema).
 * It is CommonJS, so Node's ESM loader exposes only a default export: import it that way here
 * and let the rest of the project use `onnx` from this file (works in Node, tsx and bundlers).
 */
import onnxProto from 'onnx-proto';
import { EdgetuneError, errorMessage } from '../errors.ts';

/** The generated protobuf namespace: `onnx.ModelProto` (value + type), `onnx.IModelProto`, ... */
export import onnx = onnxProto.onnx;

/** Any model we accept: a decoded `onnx.ModelProto` or a plain object of the same shape. */
export type ModelProto = onnx.IModelProto;
export type GraphProto = onnx.IGraphProto;
export type NodeProto = onnx.INodeProto;
export type TensorProto = onnx.ITensorProto;
export type ValueInfoProto = onnx.IValueInfoProto;
export type AttributeProto = onnx.IAttributeProto;

/** TensorProto.DataType values (the numbers stored in `dataType` / `elemType`). */
export const TensorDataType = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  COMPLEX64: 14,
  COMPLEX128: 15,
  BFLOAT16: 16,
} as const;
export type TensorDataType = (typeof TensorDataType)[keyof typeof TensorDataType];

/** AttributeProto.AttributeType values. */
export const AttributeType = {
  UNDEFINED: 0,
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  SPARSE_TENSOR: 11,
  TYPE_PROTO: 13,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
  TENSORS: 9,
  GRAPHS: 10,
  SPARSE_TENSORS: 12,
  TYPE_PROTOS: 14,
} as const;

/** Name of a data type for humans ("FLOAT", "INT64", ...). */
export function dataTypeName(t: number): string {
  for (const [k, v] of Object.entries(TensorDataType)) if (v === t) return k;
  return `TYPE_${t}`;
}

/**
 * int64 fields decode as `Long` objects when the `long` package is loadable (Node) and as plain
 * numbers where it is not (workerd). Normalise through this before doing arithmetic.
 */
export function toNumber(v: number | { toNumber(): number } | null | undefined): number {
  if (v == null) return 0;
  return typeof v === 'number' ? v : v.toNumber();
}

/**
 * Decode ONNX bytes. protobuf decoding of arbitrary bytes sometimes "succeeds", so a result
 * without a graph or IR version is rejected as not-a-model too.
 */
export function decodeModel(bytes: Uint8Array): onnx.ModelProto {
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new EdgetuneError('corrupt', `not an ONNX model: ${errorMessage(e)}`, { cause: e });
  }
  if (!model.graph || toNumber(model.irVersion) <= 0) {
    throw new EdgetuneError('corrupt', 'not an ONNX model: no graph or IR version');
  }
  return model;
}

/** Encode to ONNX bytes. Deterministic: encode(decode(encode(m))) equals encode(m). */
export function encodeModel(model: ModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}
