/**
 * Rewrites an fp32 ONNX model into QDQ form (QuantizeLinear/DequantizeLinear around fp32 ops):
 * - every Conv/Gemm/MatMul weight becomes an int8 initializer, per output channel, symmetric
 *   (zero point 0, range ±127 so the negation of any weight is representable), followed by a
 *   DequantizeLinear on its output-channel axis;
 * - each input activation of those ops passes through QuantizeLinear → DequantizeLinear with a
 *   per-tensor uint8 scale/zero point from calibration. With 7-bit activations the codes stay in
 *   0..127, the operand range the relaxed int8 dot product is exact for on every lowering; a Clip
 *   before the QuantizeLinear makes onnxruntime saturate at code 127 as an int8 kernel would.
 * Biases stay fp32 (a kernel folds them into its int32 accumulator). onnxruntime-node runs the
 * result as the reference for what an int8 kernel must compute.
 */
import { EdgetuneError } from '../../shared/errors.ts';
import { attrInt } from '../../shared/onnx/attributes.ts';
import { int, toAttributeProto } from '../../shared/onnx/builder.ts';
import {
  type ModelProto,
  type NodeProto,
  type TensorProto,
  TensorDataType,
  toNumber,
} from '../../shared/onnx/proto.ts';
import { makeTensor, readTensorFloat32 } from '../../shared/onnx/tensor.ts';
import type { Range } from './calibrate.ts';

export type ActivationBits = 7 | 8;

export interface QdqOptions {
  /** Calibrated range of every activation that feeds a quantized op. */
  ranges: ReadonlyMap<string, Range>;
  activationBits: ActivationBits;
  /** Node names kept in fp32 (no weight or input quantization). */
  keepFp32: ReadonlySet<string>;
}

/** The ops whose weights are quantized, and the input holding the weights. */
const QUANTIZABLE = new Set(['Conv', 'Gemm', 'MatMul']);

export interface QuantizedOp {
  node: NodeProto;
  /** The activation input that gets Q/DQ. */
  activation: string;
  weight: string;
  /** Axis of the weight tensor that indexes output channels. */
  axis: number;
}

/** The Conv/Gemm/MatMul nodes with a constant float weight, in graph order. */
export function quantizableOps(model: ModelProto): QuantizedOp[] {
  const floats = new Map<string, TensorProto>();
  for (const t of model.graph?.initializer ?? []) {
    if (t.name && t.dataType === TensorDataType.FLOAT) floats.set(t.name, t);
  }
  const ops: QuantizedOp[] = [];
  for (const node of model.graph?.node ?? []) {
    if (!QUANTIZABLE.has(node.opType ?? '') || node.domain) continue;
    const [activation, weight] = node.input ?? [];
    if (!activation || !weight || !floats.has(weight)) continue;
    if (node.opType === 'Gemm' && attrInt(node, 'transA', 0) !== 0) continue;
    const axis =
      node.opType === 'Conv' ? 0 : node.opType === 'Gemm' && attrInt(node, 'transB', 0) === 1 ? 0 : 1;
    if ((floats.get(weight)!.dims ?? []).length < 2) continue;
    ops.push({ node, activation, weight, axis });
  }
  return ops;
}

/** Symmetric int8 codes per output channel along `axis` (0 or 1 of an ND weight). */
export function quantizeWeights(
  data: Float32Array,
  dims: readonly number[],
  axis: number,
): { codes: Int8Array; scales: Float32Array } {
  const channels = dims[axis]!;
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const channelOf = (i: number) => Math.floor(i / inner) % channels;
  const maxAbs = new Float32Array(channels);
  for (let i = 0; i < data.length; i++) {
    const c = channelOf(i);
    maxAbs[c] = Math.max(maxAbs[c]!, Math.abs(data[i]!));
  }
  // An all-zero channel keeps scale 1 (any scale decodes its zeros exactly; ONNX needs scale ≠ 0).
  const scales = maxAbs.map((m) => (m > 0 ? m / 127 : 1));
  const codes = new Int8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    codes[i] = Math.max(-127, Math.min(127, Math.round(data[i]! / scales[channelOf(i)]!)));
  }
  return { codes, scales };
}

/** Per-tensor affine uint8 parameters covering `range` (which is widened to include 0). */
export function activationParams(
  range: Range,
  bits: ActivationBits,
): { scale: number; zeroPoint: number; lo: number; hi: number } {
  const levels = 2 ** bits - 1;
  const min = Math.min(0, range.min);
  const max = Math.max(0, range.max);
  const scale = max > min ? (max - min) / levels : 1;
  const zeroPoint = Math.max(0, Math.min(levels, Math.round(-min / scale)));
  return { scale, zeroPoint, lo: (0 - zeroPoint) * scale, hi: (levels - zeroPoint) * scale };
}

function bytesTensor(
  name: string,
  dataType: number,
  bytes: Uint8Array | Int8Array,
  dims: number[],
): TensorProto {
  return { name, dataType, dims, rawData: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
}

export function toQdq(model: ModelProto, options: QdqOptions): ModelProto {
  const g = model.graph;
  if (!g) throw new EdgetuneError('bad_request', 'model has no graph');
  const opset = toNumber((model.opsetImport ?? []).find((o) => !o.domain)?.version);
  if (opset < 13)
    throw new EdgetuneError(
      'bad_request',
      `int8 needs opset ≥ 13 (per-channel DequantizeLinear), model has ${opset}`,
    );
  const initializers = new Map((g.initializer ?? []).map((t) => [t.name ?? '', t]));
  const ops = quantizableOps(model).filter((op) => !options.keepFp32.has(op.node.name ?? ''));
  const byNode = new Map(ops.map((op) => [op.node, op]));
  const newInits: TensorProto[] = [];
  const replacedWeights = new Set<string>();
  const dequantized = new Map<string, string>();
  const nodes: NodeProto[] = [];
  for (const node of g.node ?? []) {
    const op = byNode.get(node);
    if (!op) {
      nodes.push(node);
      continue;
    }
    let act = dequantized.get(op.activation);
    if (!act) {
      const range = options.ranges.get(op.activation);
      if (!range) throw new EdgetuneError('internal', `no calibrated range for ${op.activation}`);
      const p = activationParams(range, options.activationBits);
      const base = `${op.activation}_q`;
      newInits.push(
        makeTensor(`${base}_scale`, Float32Array.of(p.scale), []),
        bytesTensor(`${base}_zp`, TensorDataType.UINT8, Uint8Array.of(p.zeroPoint), []),
      );
      act = `${base}_dq`;
      // 8-bit codes span uint8, where QuantizeLinear saturates by itself; below 8 bits a Clip
      // makes it saturate at the top code as the kernel does.
      let quantIn = op.activation;
      if (options.activationBits < 8) {
        newInits.push(
          makeTensor(`${base}_lo`, Float32Array.of(p.lo), []),
          makeTensor(`${base}_hi`, Float32Array.of(p.hi), []),
        );
        quantIn = `${base}_clipped`;
        nodes.push({
          opType: 'Clip',
          name: `${base}_clip`,
          input: [op.activation, `${base}_lo`, `${base}_hi`],
          output: [quantIn],
        });
      }
      nodes.push(
        {
          opType: 'QuantizeLinear',
          name: `${base}_quant`,
          input: [quantIn, `${base}_scale`, `${base}_zp`],
          output: [`${base}_u8`],
        },
        {
          opType: 'DequantizeLinear',
          name: `${base}_dequant`,
          input: [`${base}_u8`, `${base}_scale`, `${base}_zp`],
          output: [act],
        },
      );
      dequantized.set(op.activation, act);
    }
    const wq = `${op.weight}_int8`;
    if (!replacedWeights.has(op.weight)) {
      const w = initializers.get(op.weight)!;
      const dims = (w.dims ?? []).map(toNumber);
      const { codes, scales } = quantizeWeights(readTensorFloat32(w), dims, op.axis);
      newInits.push(
        bytesTensor(wq, TensorDataType.INT8, codes, dims),
        makeTensor(`${wq}_scale`, scales, [scales.length]),
        bytesTensor(`${wq}_zp`, TensorDataType.INT8, new Int8Array(scales.length), [scales.length]),
      );
      nodes.push({
        opType: 'DequantizeLinear',
        name: `${wq}_dequant`,
        input: [wq, `${wq}_scale`, `${wq}_zp`],
        output: [`${wq}_dq`],
        attribute: [toAttributeProto('axis', int(op.axis))],
      });
      replacedWeights.add(op.weight);
    }
    nodes.push({ ...node, input: [act, `${wq}_dq`, ...(node.input ?? []).slice(2)] });
  }
  // fp32 weights that only quantized ops used are dropped: the int8 file is ~4× smaller.
  const stillUsed = new Set(nodes.flatMap((n) => n.input ?? []));
  const kept = (g.initializer ?? []).filter(
    (t) => !replacedWeights.has(t.name ?? '') || stillUsed.has(t.name ?? ''),
  );
  return { ...model, graph: { ...g, node: nodes, initializer: [...kept, ...newInits] } };
}
