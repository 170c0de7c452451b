/**
 * Work the edge does at every cold model load stays small: constant folding returns a graph that
 * has nothing to fold untouched (one scan, no shape inference), and float weights are read from
 * raw_data with a byte copy that gives the same values as element-wise little-endian reads, also
 * at an unaligned offset.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { foldConstants, needsConstantFolding } from '../../../shared/onnx/fold-constants.ts';
import { decodeModel, TensorDataType } from '../../../shared/onnx/proto.ts';
import { readTensorFloat32 } from '../../../shared/onnx/tensor.ts';
import { REPO_ROOT } from '../cli-helper.ts';

const fixture = (f: string) =>
  decodeModel(new Uint8Array(fs.readFileSync(path.join(REPO_ROOT, 'tests', 'fixtures', 'foreign', f))));

describe('constant folding at load', () => {
  it('folds a torch.onnx export once; the folded graph is returned as it is', () => {
    const model = fixture('mobilenet_v3_small.onnx');
    expect(needsConstantFolding(model)).toBe(true);
    const folded = foldConstants(model);
    expect(folded).not.toBe(model);
    expect(folded.graph!.node!.some((n) => n.opType === 'Constant')).toBe(false);
    expect(needsConstantFolding(folded)).toBe(false);
    expect(foldConstants(folded)).toBe(folded);
  });
});

describe('readTensorFloat32', () => {
  it('matches little-endian element reads, from an unaligned raw_data view', () => {
    const values = Float32Array.from({ length: 1001 }, (_, i) => Math.sin(i) * 10 ** ((i % 9) - 4));
    const backing = new Uint8Array(values.byteLength + 3);
    const view = new DataView(backing.buffer, 3);
    values.forEach((v, i) => {
      view.setFloat32(i * 4, v, true);
    });
    const rawData = backing.subarray(3);
    const read = readTensorFloat32({ name: 'w', dataType: TensorDataType.FLOAT, dims: [7, 143], rawData });
    expect(read).toEqual(values);
    expect(() =>
      readTensorFloat32({ name: 'w', dataType: TensorDataType.FLOAT, dims: [1002], rawData }),
    ).toThrow('tensor w: raw_data has 4004 bytes, expected 4008');
  });
});
