/**
 * TensorProto <-> typed arrays. Numeric data is written as little-endian `raw_data` (compact and
 * what every runtime reads fastest); reading accepts raw_data and the typed repeated fields.
 */
import { EdgetuneError } from '../errors.ts';
import { dataTypeName, type TensorProto, TensorDataType, toNumber } from './proto.ts';

/** Data accepted for an initializer. A plain number[] means INT64 (shapes, axes, indices). */
export type TensorData = Float32Array | Int32Array | BigInt64Array | number[];

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function elementCount(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** Bytes per element for fixed-size types; 0 for STRING/UNDEFINED. */
export function bytesPerElement(dataType: number): number {
  switch (dataType) {
    case TensorDataType.BOOL:
    case TensorDataType.UINT8:
    case TensorDataType.INT8:
      return 1;
    case TensorDataType.UINT16:
    case TensorDataType.INT16:
    case TensorDataType.FLOAT16:
    case TensorDataType.BFLOAT16:
      return 2;
    case TensorDataType.FLOAT:
    case TensorDataType.INT32:
    case TensorDataType.UINT32:
      return 4;
    case TensorDataType.INT64:
    case TensorDataType.UINT64:
    case TensorDataType.DOUBLE:
    case TensorDataType.COMPLEX64:
      return 8;
    case TensorDataType.COMPLEX128:
      return 16;
    default:
      return 0;
  }
}

function littleEndianBytes(view: ArrayBufferView, bytesPer: number): Uint8Array {
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice();
  if (!littleEndian) {
    for (let i = 0; i < bytes.length; i += bytesPer) bytes.subarray(i, i + bytesPer).reverse();
  }
  return bytes;
}

/** Build a TensorProto (raw_data, little-endian) from typed data; checks element count vs dims. */
export function makeTensor(name: string, data: TensorData, dims: readonly number[]): TensorProto {
  const n = elementCount(dims);
  if (data.length !== n) {
    throw new EdgetuneError(
      'bad_request',
      `tensor ${name}: ${data.length} values do not fit dims [${dims.join(',')}] (${n} elements)`,
    );
  }
  let dataType: number;
  let rawData: Uint8Array;
  if (data instanceof Float32Array) {
    dataType = TensorDataType.FLOAT;
    rawData = littleEndianBytes(data, 4);
  } else if (data instanceof Int32Array) {
    dataType = TensorDataType.INT32;
    rawData = littleEndianBytes(data, 4);
  } else if (data instanceof BigInt64Array) {
    dataType = TensorDataType.INT64;
    rawData = littleEndianBytes(data, 8);
  } else {
    for (const v of data) {
      if (!Number.isSafeInteger(v))
        throw new EdgetuneError('bad_request', `tensor ${name}: ${v} is not an int64`);
    }
    dataType = TensorDataType.INT64;
    rawData = littleEndianBytes(
      BigInt64Array.from(data, (v) => BigInt(v)),
      8,
    );
  }
  return { name, dims: dims.slice(), dataType, rawData };
}

/** Element count of a TensorProto from its dims. */
export function tensorElementCount(t: TensorProto): number {
  return elementCount((t.dims ?? []).map(toNumber));
}

/** Bytes a tensor's payload occupies (raw_data length, or typed fields × element size). */
export function tensorByteLength(t: TensorProto): number {
  if (t.rawData && t.rawData.length > 0) return t.rawData.length;
  const per = bytesPerElement(t.dataType ?? 0);
  return per > 0 ? per * tensorElementCount(t) : 0;
}

function rawView(t: TensorProto, bytesPer: number): DataView {
  const raw = t.rawData ?? new Uint8Array(0);
  const n = tensorElementCount(t);
  if (raw.length !== n * bytesPer) {
    throw new EdgetuneError(
      'corrupt',
      `tensor ${t.name}: raw_data has ${raw.length} bytes, expected ${n * bytesPer}`,
    );
  }
  return new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
}

const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

function hasRaw(t: TensorProto): boolean {
  return t.rawData != null && t.rawData.length > 0;
}

function checkInline(t: TensorProto): void {
  if (t.dataLocation === 1 || (t.externalData?.length ?? 0) > 0) {
    throw new EdgetuneError('unsupported', `tensor ${t.name}: external data is not supported`);
  }
}

function checkedCount<T>(t: TensorProto, values: T[], n: number): T[] {
  if (values.length !== n) {
    throw new EdgetuneError('corrupt', `tensor ${t.name}: ${values.length} values, dims say ${n}`);
  }
  return values;
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** Read a floating-point tensor (FLOAT, DOUBLE, FLOAT16, BFLOAT16) as Float32Array. */
export function readTensorFloat32(t: TensorProto): Float32Array {
  checkInline(t);
  const type = t.dataType ?? 0;
  const n = tensorElementCount(t);
  const out = new Float32Array(n);
  if (type === TensorDataType.FLOAT) {
    if (hasRaw(t)) {
      const v = rawView(t, 4);
      // ONNX stores little-endian, like every host we run on: one byte copy instead of millions
      // of DataView reads (weights are read once per session, in a cold Worker isolate too).
      if (LITTLE_ENDIAN) new Uint8Array(out.buffer).set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
      else for (let i = 0; i < n; i++) out[i] = v.getFloat32(i * 4, true);
    } else out.set(checkedCount(t, t.floatData ?? [], n));
  } else if (type === TensorDataType.DOUBLE) {
    if (hasRaw(t)) {
      const v = rawView(t, 8);
      for (let i = 0; i < n; i++) out[i] = v.getFloat64(i * 8, true);
    } else out.set(checkedCount(t, t.doubleData ?? [], n));
  } else if (type === TensorDataType.FLOAT16 || type === TensorDataType.BFLOAT16) {
    // Without raw_data, 16-bit values live in int32_data, one per entry.
    const bits = new Uint16Array(n);
    if (hasRaw(t)) {
      const v = rawView(t, 2);
      for (let i = 0; i < n; i++) bits[i] = v.getUint16(i * 2, true);
    } else bits.set(checkedCount(t, t.int32Data ?? [], n));
    const f32 = new Float32Array(1);
    const u32 = new Uint32Array(f32.buffer);
    for (let i = 0; i < n; i++) {
      if (type === TensorDataType.FLOAT16) out[i] = halfToFloat(bits[i]!);
      else {
        u32[0] = bits[i]! << 16;
        out[i] = f32[0]!;
      }
    }
  } else {
    throw new EdgetuneError('unsupported', `tensor ${t.name}: ${dataTypeName(type)} is not a float type`);
  }
  return out;
}

const INT_READERS: Record<number, [number, (v: DataView, o: number) => number]> = {
  [TensorDataType.INT32]: [4, (v, o) => v.getInt32(o, true)],
  [TensorDataType.UINT32]: [4, (v, o) => v.getUint32(o, true)],
  [TensorDataType.INT16]: [2, (v, o) => v.getInt16(o, true)],
  [TensorDataType.UINT16]: [2, (v, o) => v.getUint16(o, true)],
  [TensorDataType.INT8]: [1, (v, o) => v.getInt8(o)],
  [TensorDataType.UINT8]: [1, (v, o) => v.getUint8(o)],
  [TensorDataType.BOOL]: [1, (v, o) => v.getUint8(o)],
};

/** Read an integer tensor (INT64, INT32, INT16, INT8, UINT8, ...) as plain numbers. */
export function readTensorInts(t: TensorProto): number[] {
  checkInline(t);
  const type = t.dataType ?? 0;
  const n = tensorElementCount(t);
  const out: number[] = new Array(n);
  if (type === TensorDataType.INT64 || type === TensorDataType.UINT64) {
    if (hasRaw(t)) {
      const v = rawView(t, 8);
      for (let i = 0; i < n; i++) out[i] = Number(v.getBigInt64(i * 8, true));
    } else {
      const src = checkedCount(
        t,
        type === TensorDataType.INT64 ? (t.int64Data ?? []) : (t.uint64Data ?? []),
        n,
      );
      for (let i = 0; i < n; i++) out[i] = toNumber(src[i]);
    }
    return out;
  }
  const reader = INT_READERS[type];
  if (!reader)
    throw new EdgetuneError('unsupported', `tensor ${t.name}: ${dataTypeName(type)} is not an integer type`);
  if (hasRaw(t)) {
    const [size, read] = reader;
    const v = rawView(t, size);
    if (size === 1) {
      // (int8/uint8 zero points of every quantized tensor: read on each cold start)
      const bytes =
        type === TensorDataType.INT8
          ? new Int8Array(v.buffer, v.byteOffset, n)
          : new Uint8Array(v.buffer, v.byteOffset, n);
      for (let i = 0; i < n; i++) out[i] = bytes[i]!;
    } else for (let i = 0; i < n; i++) out[i] = read(v, i * size);
  } else {
    const src = checkedCount(
      t,
      type === TensorDataType.UINT32 ? (t.uint64Data ?? []) : (t.int32Data ?? []),
      n,
    );
    for (let i = 0; i < n; i++) out[i] = toNumber(src[i]);
  }
  return out;
}
