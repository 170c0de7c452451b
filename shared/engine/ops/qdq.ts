/**
 * QuantizeLinear / DequantizeLinear of a QDQ graph (training/quantize/qdq.ts writes them):
 * - DequantizeLinear of constant int8 weights is a constant (ModelConstants evaluates it, and the
 *   int8 conv/Gemm lowerings read its codes): no step;
 * - QuantizeLinear of an activation, with the Clip before it fused in, is one pass writing uint8
 *   codes — or no pass at all when an int8 conv produces the activation: its epilogue writes the
 *   codes (`takeRequant`), and the fp32 tensor only exists if something else reads it;
 * - DequantizeLinear of those codes is free when every reader is an int8 Conv/Gemm/MatMul that
 *   takes the codes as they are (and they are 7-bit, what the relaxed dot product needs);
 *   otherwise it is a pass back to fp32, so a graph with any mix of int8 and fp32 ops runs.
 */
import { attrInt, attrInts } from '../../onnx/attributes.ts';
import { type NodeProto, TensorDataType } from '../../onnx/proto.ts';
import { actOf, type ModelConstants } from '../constants.ts';
import type { QuantParams } from '../kernel-calls.ts';
import { type PlacedTensor, roundUp8 } from '../layout.ts';
import {
  type CheckContext,
  type LowerContext,
  type OpLowering,
  type TensorShape,
  unsupported,
} from '../lowering.ts';

/** Largest activation code the int8 kernels take (the i7 operand of the relaxed dot product). */
export const INT8_MAX_CODE = 127;

/** Per-tensor scale and uint8 zero point of a Q/DQ node, or why the engine cannot take them. */
function tensorParams(node: NodeProto, consts: ModelConstants): { scale: number; zp: number } | string {
  const [, scaleName, zpName] = node.input ?? [];
  if (!consts.isFloat(scaleName)) return 'scale must be a constant';
  const scale = consts.floats(scaleName!).data;
  if (scale.length !== 1) return 'only per-tensor activation quantization';
  if (!(scale[0]! > 0) || !Number.isFinite(scale[0]!)) return 'scale must be positive';
  if (!zpName) return { scale: scale[0]!, zp: 0 };
  if (!consts.has(zpName) || consts.isFloat(zpName)) return 'zero point must be an integer constant';
  if (consts.dataType(zpName) !== TensorDataType.UINT8) return 'only uint8 activations';
  const zp = consts.ints(zpName);
  if (zp.length !== 1) return 'only per-tensor activation quantization';
  return { scale: scale[0]!, zp: zp[0]! };
}

function params(node: NodeProto, ctx: LowerContext): { scale: number; zp: number } {
  const p = tensorParams(node, ctx.consts);
  if (typeof p === 'string') unsupported(node, p);
  return p;
}

/** Codes parameters of QuantizeLinear `q` after a Clip to [lo, hi] (±Infinity: none). */
function codeParams(q: NodeProto, ctx: LowerContext, clip: { lo: number; hi: number }): QuantParams {
  const { scale, zp } = params(q, ctx);
  const top = Number.isFinite(clip.hi) ? Math.round(clip.hi / scale) + zp : 255;
  return { scale, zp, qmax: Math.max(0, Math.min(255, top)) };
}

/** Codes an int8 kernel's epilogue writes in place of a separate quantize pass. */
export interface Requantized {
  /** The codes tensor (named after the QuantizeLinear's output). */
  codes: PlacedTensor;
  /** The fused Clip's bounds (±Infinity: none). */
  lo: number;
  hi: number;
  /** Whether the fp32 tensor is still needed (another reader, or a graph output). */
  keepFloat: boolean;
}

/**
 * When fp32 tensor `name` (shaped `shape`) is read by a QuantizeLinear — through the saturating
 * Clip the QDQ writer puts before it — that comes right after the producer's group, the producer
 * writes the codes itself: the Clip and QuantizeLinear join the group. Only adjacent nodes, so
 * that no node between them needs a tensor the group releases.
 */
export function takeRequant(
  ctx: LowerContext,
  name: string,
  shape: TensorShape & { rank: 2 | 4 },
  group: number[],
): Requantized | undefined {
  const at = (i: number): NodeProto | undefined => ctx.node(i) as NodeProto | undefined;
  let i = Math.max(...group) + 1;
  let clip = { lo: Number.NEGATIVE_INFINITY, hi: Number.POSITIVE_INFINITY };
  let qIn = name;
  const fused = [i];
  const first = at(i);
  if (first?.opType === 'Clip' && !first.domain && first.input?.[0] === name) {
    const act = actOf(first, ctx.consts);
    qIn = first.output?.[0] ?? '';
    if (!act || ctx.soleConsumer(qIn) !== i + 1) return undefined;
    clip = { lo: act.lo, hi: act.hi };
    i++;
    fused.push(i);
  }
  const q = at(i);
  if (q?.opType !== 'QuantizeLinear' || q.domain || q.input?.[0] !== qIn) return undefined;
  if (typeof tensorParams(q, ctx.consts) === 'string') return undefined;
  const readers = ctx.consumersOf(name);
  const like: PlacedTensor = { ...shape, cs: roundUp8(shape.c), st: { offset: 0, refs: 0 } };
  const codes = ctx.placeCodes(q.output?.[0] ?? '', like, codeParams(q, ctx, clip));
  group.push(...fused);
  return { codes, ...clip, keepFloat: readers.graphOutput || readers.nodes.length > 1 };
}

/**
 * Quantizes `x` (fp32) into codes named after `q`'s output; `clip` is a Clip fused in before it
 * (its bounds also decide the largest code, hence whether the codes are 7-bit).
 */
export function lowerQuantize(
  q: NodeProto,
  ctx: LowerContext,
  x: PlacedTensor,
  clip: { lo: number; hi: number },
): void {
  const qp = codeParams(q, ctx, clip);
  const out = q.output?.[0] ?? '';
  const y = ctx.placeCodes(out, x, qp);
  const a = ctx.addr(x);
  const o = ctx.addr(y);
  const rows = x.n * x.h * x.w;
  ctx.emit(
    'Quantize',
    q.name ?? out,
    (base) => () =>
      ctx.k.quantize({
        src: a(base),
        rows,
        cs: x.cs,
        ss: x.cs * 4,
        dst: o(base),
        ds: x.cs,
        q: qp,
        lo: clip.lo,
        hi: clip.hi,
      }),
  );
}

/** Whether `node` reads `name` as its int8 activation: a Conv/Gemm/MatMul with quantized weights. */
export function readsCodes(node: NodeProto, name: string, consts: ModelConstants, channels: number): boolean {
  const [x, w] = node.input ?? [];
  if (x !== name || w === name || node.domain) return false;
  const wq = consts.quantized(w);
  if (!wq || wq.dims.length < 2) return false;
  if (node.opType === 'Conv') {
    if (wq.dims.length !== 4 || (wq.scales.length !== 1 && wq.axis !== 0)) return false;
    const group = attrInt(node, 'group', 1);
    if (group === 1) return true;
    // depthwise 3×3, dilation 1, the same stride both ways: the one grouped conv with an int8 kernel
    const [sh, sw] = attrInts(node, 'strides') ?? [1, 1];
    const dil = attrInts(node, 'dilations') ?? [1, 1];
    return (
      group === channels &&
      wq.dims[0] === channels &&
      wq.dims[1] === 1 &&
      wq.dims[2] === 3 &&
      wq.dims[3] === 3 &&
      sh === sw &&
      dil.every((d) => d === 1)
    );
  }
  if (wq.dims.length !== 2) return false;
  if (node.opType === 'MatMul') return wq.scales.length === 1 || wq.axis === 1;
  if (node.opType === 'Gemm') {
    if (attrInt(node, 'transA', 0) !== 0) return false;
    const colAxis = attrInt(node, 'transB', 0) === 1 ? 0 : 1;
    return wq.scales.length === 1 || wq.axis === colAxis;
  }
  return false;
}

function lowerDequantize(node: NodeProto, ctx: LowerContext): void {
  const out = node.output?.[0] ?? '';
  if (ctx.consts.has(out)) return; // constant weights: read through ModelConstants
  const t = ctx.codes(node, 0);
  if (!t) unsupported(node, 'input must be an activation quantized by QuantizeLinear');
  const p = params(node, ctx);
  const same = p.scale === t.q!.scale && p.zp === t.q!.zp;
  const readers = ctx.consumersOf(out);
  const int8 =
    same &&
    t.q!.qmax <= INT8_MAX_CODE &&
    !readers.graphOutput &&
    readers.nodes.length > 0 &&
    readers.nodes.every((n) => readsCodes(n, out, ctx.consts, t.c));
  if (int8) {
    ctx.alias(out, t, {});
    return;
  }
  const y = ctx.place(out, t.rank, t.n, t.c, t.h, t.w);
  const a = ctx.addr(t);
  const o = ctx.addr(y);
  const rows = t.n * t.h * t.w;
  const q = { ...t.q!, ...p };
  ctx.emit(
    'Dequantize',
    node.name ?? out,
    (base) => () => ctx.k.dequantize(a(base), rows, t.cs, t.cs, o(base), t.cs * 4, q),
  );
}

function check(node: NodeProto, { consts }: CheckContext): string | undefined {
  if (node.opType === 'DequantizeLinear' && consts.has(node.output?.[0])) return undefined;
  const p = tensorParams(node, consts);
  return typeof p === 'string' ? p : undefined;
}

export const qdqLowering: OpLowering = {
  ops: ['QuantizeLinear', 'DequantizeLinear'],
  check,
  lower(node, ctx) {
    if (node.opType === 'QuantizeLinear') {
      lowerQuantize(node, ctx, ctx.input(node, 0), {
        lo: Number.NEGATIVE_INFINITY,
        hi: Number.POSITIVE_INFINITY,
      });
    } else lowerDequantize(node, ctx);
  },
};
