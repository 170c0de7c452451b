import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { EdgetuneError } from '../../../shared/errors.ts';
import {
  AttributeType,
  attrFloat,
  attrInt,
  attrInts,
  attrString,
  decodeModel,
  encodeModel,
  float,
  floats,
  GraphBuilder,
  int,
  ints,
  makeTensor,
  onnx,
  readTensorFloat32,
  readTensorInts,
  str,
  TensorDataType,
  validateModel,
} from '../../../shared/onnx/index.ts';

async function runBytes(bytes: Uint8Array, feeds: Record<string, ort.Tensor>) {
  const session = await ort.InferenceSession.create(bytes);
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

describe('GraphBuilder', () => {
  it('builds a model onnxruntime runs with the expected numbers', async () => {
    const g = new GraphBuilder({ name: 'tiny', producer: 'test' });
    g.input('x', ['N', 4]);
    const w = g.initializer('w', new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]), [2, 4]);
    const b = g.initializer('b', new Float32Array([0.5, -0.5]), [2]);
    const [y] = g.node('Gemm', ['x', w, b], [g.unique('y')], { transB: int(1), alpha: float(2) });
    const [z] = g.node('Reshape', [y!, g.initializer('shape', [-1, 2, 1], [3])], ['z']);
    g.output(z!, ['N', 2, 1]);
    g.metadata('purpose', 'test');
    const model = g.build();
    expect(validateModel(model)).toEqual([]);
    expect(model.opsetImport).toEqual([{ domain: '', version: 17 }]);
    expect(model.metadataProps).toEqual([{ key: 'purpose', value: 'test' }]);

    const x = new ort.Tensor('float32', new Float32Array([1, 1, 1, 1, 0, 0, 0, 1]), [2, 4]);
    const out = await runBytes(g.toBytes(), { x });
    expect(out.z!.dims).toEqual([2, 2, 1]);
    // alpha·(x·Wᵀ) + b: [2·10+0.5, 2·26−0.5, 2·4+0.5, 2·8−0.5]
    expect(Array.from(out.z!.data as Float32Array)).toEqual([20.5, 51.5, 8.5, 15.5]);
  });

  it('tags attributes with their ONNX type instead of guessing from JS numbers', () => {
    const g = new GraphBuilder({ name: 'attrs' });
    g.input('x', [1]);
    g.node('Op', ['x'], ['y'], {
      i: int(1),
      f: float(1),
      is: ints([1, -2]),
      fs: floats([0.5, 2]),
      s: str('héllo'),
    });
    g.output('y');
    const decoded = decodeModel(g.toBytes());
    const node = decoded.graph!.node![0]!;
    const byName = Object.fromEntries(node.attribute!.map((a) => [a.name, a]));
    expect(byName.i!.type).toBe(AttributeType.INT);
    expect(byName.f!.type).toBe(AttributeType.FLOAT);
    expect(byName.is!.type).toBe(AttributeType.INTS);
    expect(byName.fs!.type).toBe(AttributeType.FLOATS);
    expect(byName.s!.type).toBe(AttributeType.STRING);
    expect(attrInt(node, 'i')).toBe(1);
    expect(attrFloat(node, 'f')).toBe(1);
    expect(attrInts(node, 'is')).toEqual([1, -2]);
    expect(attrString(node, 's')).toBe('héllo');
    expect(attrInt(node, 'missing', 7)).toBe(7);
    expect(() => int(1.5)).toThrow(EdgetuneError);
    expect(() => ints([1, Number.NaN])).toThrow(EdgetuneError);
  });

  it('stores initializers as little-endian raw_data and reads them back', () => {
    const f = makeTensor('f', new Float32Array([1, -2.5]), [2]);
    expect(f.dataType).toBe(TensorDataType.FLOAT);
    expect(Array.from(f.rawData!)).toEqual([0, 0, 0x80, 0x3f, 0, 0, 0x20, 0xc0]);
    const i64 = makeTensor('i', [3, -1], [2]);
    expect(i64.dataType).toBe(TensorDataType.INT64);
    expect(Array.from(i64.rawData!)).toEqual([
      3, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255,
    ]);
    const i32 = makeTensor('j', new Int32Array([7]), [1, 1]);
    expect(i32.dataType).toBe(TensorDataType.INT32);
    expect(makeTensor('k', new BigInt64Array([5n]), []).dataType).toBe(TensorDataType.INT64);

    // Decoded raw_data is a view at an odd offset into the message buffer: must still read right.
    const g = new GraphBuilder({ name: 'rt' });
    g.input('x', [3]);
    g.initializer('odd', new Float32Array([0.1, 0.2, 0.3]), [3]);
    g.initializer('ints', [1, 2, 3], [3]);
    g.node('Add', ['x', 'odd'], ['y']);
    g.output('y');
    const decoded = decodeModel(g.toBytes());
    const [odd, ints3] = decoded.graph!.initializer!;
    expect(readTensorFloat32(odd!)).toEqual(new Float32Array([0.1, 0.2, 0.3]));
    expect(readTensorInts(ints3!)).toEqual([1, 2, 3]);

    // The repeated-field encodings other exporters use.
    expect(readTensorFloat32({ name: 'a', dataType: 1, dims: [2], floatData: [1.5, 2] })).toEqual(
      new Float32Array([1.5, 2]),
    );
    expect(readTensorFloat32({ name: 'd', dataType: 11, dims: [1], doubleData: [0.25] })).toEqual(
      new Float32Array([0.25]),
    );
    // float16 1.0 = 0x3c00, -2 = 0xc000
    expect(readTensorFloat32({ name: 'h', dataType: 10, dims: [2], int32Data: [0x3c00, 0xc000] })).toEqual(
      new Float32Array([1, -2]),
    );
    expect(() => readTensorFloat32({ name: 'short', dataType: 1, dims: [3], floatData: [1] })).toThrow(/3/);
    expect(() => readTensorFloat32(i64)).toThrow(EdgetuneError);
  });

  it('rejects mistakes when they are made, not at run time', () => {
    const g = new GraphBuilder({ name: 'errs' });
    g.input('x', [2]);
    expect(() => g.initializer('w', new Float32Array(3), [2, 2])).toThrow(/3 values/);
    g.initializer('w', new Float32Array(2), [2]);
    expect(() => g.initializer('w', new Float32Array(2), [2])).toThrow(EdgetuneError);
    expect(() => g.input('w', [2])).toThrow(/already defined/);
    g.node('Add', ['x', 'w'], ['y']);
    expect(() => g.node('Relu', ['x'], ['y'])).toThrow(/already defined/);
    expect(() => g.initializer('bad', [1.5], [1])).toThrow(/int64/);
  });

  it('hands out fresh names and declares opsets for custom domains', () => {
    const g = new GraphBuilder({ name: 'names', opset: 13 });
    g.input('x', [1]);
    expect(g.unique('x')).toBe('x_1');
    expect(g.unique('x')).toBe('x_2');
    const [y] = g.node('Relu', ['x'], [g.unique('y')]);
    expect(y).toBe('y');
    expect(g.unique('Relu')).not.toBe('Relu'); // node names are taken too
    g.node('FusedThing', [y!], ['z'], undefined, { domain: 'com.microsoft' });
    g.output('z');
    const model = g.build();
    expect(model.opsetImport).toEqual([
      { domain: '', version: 13 },
      { domain: 'com.microsoft', version: 1 },
    ]);
    expect(model.graph!.node![1]!.domain).toBe('com.microsoft');
  });

  it('extends an existing model without disturbing it', () => {
    const g = new GraphBuilder({ name: 'base' });
    g.input('x', [1]);
    g.node('Relu', ['x'], ['y']);
    g.output('y');
    g.metadata('k', 'v');
    const base = g.build();
    const before = encodeModel(base);
    const ext = GraphBuilder.fromModel(decodeModel(before));
    expect(ext.unique('y')).toBe('y_1');
    ext.node('Neg', ['y'], ['z']);
    ext.output('z');
    const extended = ext.build();
    expect(extended.graph!.node!.map((n) => n.opType)).toEqual(['Relu', 'Neg']);
    expect(extended.graph!.output!.map((o) => o.name)).toEqual(['y', 'z']);
    expect(extended.metadataProps).toEqual([{ key: 'k', value: 'v' }]);
    expect(Buffer.from(encodeModel(base)).equals(Buffer.from(before))).toBe(true);
    expect(extended).toBeInstanceOf(onnx.ModelProto);
  });
});
