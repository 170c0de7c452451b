/**
 * Per-channel affine ops, y = act(x · scale[c] + shift[c]): BatchNormalization (when no conv took
 * it), standalone Relu/Clip/HardSwish, HardSigmoid; and Sigmoid, the one elementwise op with its
 * own kernel. The helpers are shared with the conv (BN folding) and binary (constant operand) ops.
 */
import { attrFloat } from '../../onnx/attributes.ts';
import type { NodeProto } from '../../onnx/proto.ts';
import { type Act, actOf, type ModelConstants } from '../constants.ts';
import { type PlacedTensor, tensorBytes } from '../layout.ts';
import { type LowerContext, type OpLowering, unsupported } from '../lowering.ts';
import { lowerQuantize } from './qdq.ts';

export function bnScaleShift(
  node: NodeProto,
  consts: ModelConstants,
): { scale: Float32Array; shift: Float32Array } {
  const names = (node.input ?? []).slice(1, 5);
  if (names.length !== 4 || !names.every((n) => consts.isFloat(n))) {
    unsupported(node, 'scale, bias, mean and var must be constants');
  }
  const [g, b, m, v] = names.map((n) => consts.floats(n).data) as [
    Float32Array,
    Float32Array,
    Float32Array,
    Float32Array,
  ];
  const eps = attrFloat(node, 'epsilon', 1e-5);
  const scale = new Float32Array(g.length);
  const shift = new Float32Array(g.length);
  for (let c = 0; c < g.length; c++) {
    scale[c] = g[c]! / Math.sqrt(v[c]! + eps);
    shift[c] = b[c]! - m[c]! * scale[c]!;
  }
  return { scale, shift };
}

/** y = act(x * scale[c] + shift[c]); scale/shift have x.c entries (padded here). */
export function emitAffine(
  ctx: LowerContext,
  node: NodeProto,
  x: PlacedTensor,
  out: string,
  scale: Float32Array,
  shift: Float32Array,
  act: Act,
): void {
  const key = `affine:${node.name}:${node.output?.[0]}`;
  const pad = (v: Float32Array) => {
    const p = new Float32Array(x.cs);
    p.set(v.subarray(0, x.c));
    return p;
  };
  const s = ctx.persist.put(`${key}:scale`, () => pad(scale));
  const b = ctx.persist.put(`${key}:shift`, () => pad(shift));
  const y = ctx.place(out, x.rank, x.n, x.c, x.h, x.w);
  const a = ctx.addr(x);
  const o = ctx.addr(y);
  const npix = x.n * x.h * x.w;
  ctx.emit(
    node.opType ?? 'Affine',
    node.name ?? out,
    (base) => () => ctx.k.affine({ a: a(base), scale: s, shift: b, out: o(base), npix, cs: x.cs, act }),
  );
}

export const batchNormLowering: OpLowering = {
  ops: ['BatchNormalization'],
  check: (node, { consts }) =>
    [1, 2, 3, 4].every((i) => consts.isFloat(node.input?.[i])) ? undefined : 'parameters must be constants',
  lower(node, ctx, group) {
    const x = ctx.input(node, 0);
    const { scale, shift } = bnScaleShift(node, ctx.consts);
    const { act, out } = ctx.takeAct(node.output?.[0] ?? '', group);
    emitAffine(ctx, node, x, out, scale, shift, act);
  },
};

export const activationLowering: OpLowering = {
  ops: ['Relu', 'Clip', 'HardSwish'],
  check: (node, { consts }) =>
    [1, 2].every((i) => !node.input?.[i] || consts.isFloat(node.input?.[i]))
      ? undefined
      : 'bounds must be constants',
  lower(node, ctx, group) {
    const x = ctx.input(node, 0);
    const act = actOf(node, ctx.consts);
    if (!act) unsupported(node, 'Clip bounds must be constants');
    // A Clip read only by a QuantizeLinear (how QDQ graphs saturate at the top code) is clamped
    // inside the quantization pass.
    const j = node.opType === 'Clip' ? ctx.soleConsumer(node.output?.[0] ?? '') : undefined;
    const q = j !== undefined ? ctx.node(j) : undefined;
    if (q?.opType === 'QuantizeLinear' && !q.domain && q.input?.[0] === node.output?.[0]) {
      group.push(j!);
      lowerQuantize(q, ctx, x, act);
      return;
    }
    emitAffine(
      ctx,
      node,
      x,
      node.output?.[0] ?? '',
      new Float32Array(x.c).fill(1),
      new Float32Array(x.c),
      act,
    );
  },
};

export const hardSigmoidLowering: OpLowering = {
  ops: ['HardSigmoid'],
  check: () => undefined,
  lower(node, ctx) {
    // max(0, min(1, alpha·x + beta)): a per-tensor affine step clamped to [0, 1].
    const x = ctx.input(node, 0);
    const alpha = attrFloat(node, 'alpha', 0.2);
    const beta = attrFloat(node, 'beta', 0.5);
    const act = { lo: 0, hi: 1, hs: 0 };
    const scale = new Float32Array(x.c).fill(alpha);
    emitAffine(ctx, node, x, node.output?.[0] ?? '', scale, new Float32Array(x.c).fill(beta), act);
  },
};

export const sigmoidLowering: OpLowering = {
  ops: ['Sigmoid'],
  check: () => undefined,
  lower(node, ctx) {
    const x = ctx.input(node, 0);
    const out = node.output?.[0] ?? '';
    const y = ctx.place(out, x.rank, x.n, x.c, x.h, x.w);
    const a = ctx.addr(x);
    const b = ctx.addr(y);
    const n = tensorBytes(x) / 4;
    ctx.emit('Sigmoid', node.name ?? out, (base) => () => ctx.k.raw.sigmoid(a(base), b(base), n));
  },
};
