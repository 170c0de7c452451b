/**
 * Add, Mul, Sub, Div. Two computed operands of one shape run the elementwise kernel; a [N,C,1,1]
 * operand against [N,C,H,W] (squeeze-and-excitation) is a per-image affine step; a constant
 * operand must be a scalar or per-channel and becomes an affine step.
 */
import type { NodeProto } from '../../onnx/proto.ts';
import { type PlacedTensor, tensorBytes } from '../layout.ts';
import { type LowerContext, type OpLowering, unsupported } from '../lowering.ts';
import { emitAffine } from './affine.ts';

/** A constant operand as one value per channel of x (it must be a scalar or per-channel). */
function channelVector(ctx: LowerContext, node: NodeProto, x: PlacedTensor, name: string): Float32Array {
  const k = ctx.consts.floats(name);
  const dims = k.dims.slice();
  while (dims.length < x.rank) dims.unshift(1);
  const perChannel = dims.every((d, i) => d === 1 || i === 1) && dims.length === x.rank;
  if (!perChannel) unsupported(node, 'a constant operand must be a scalar or per-channel');
  return new Float32Array(x.c).map((_, c) => k.data[k.data.length === 1 ? 0 : c]!);
}

function lowerBinary(node: NodeProto, ctx: LowerContext, group: number[]): void {
  const [n0, n1] = node.input ?? [];
  const c0 = ctx.consts.has(n0);
  const c1 = ctx.consts.has(n1);
  const ones = (x: PlacedTensor) => new Float32Array(x.c).fill(1);
  if (node.opType === 'Div') {
    // Only x / constant, which is x · (1 / constant).
    if (c0 || !c1) unsupported(node, 'the divisor must be a constant');
    const x = ctx.input(node, 0);
    const vec = channelVector(ctx, node, x, n1!).map((v) => 1 / v);
    const { act, out } = ctx.takeAct(node.output![0]!, group);
    emitAffine(ctx, node, x, out, vec, new Float32Array(x.c), act);
    return;
  }
  const op = node.opType === 'Add' ? 0 : node.opType === 'Mul' ? 1 : 2;
  if (c0 && c1) unsupported(node, 'constant folding is not supported');
  if (!c0 && !c1) {
    lowerDynamic(node, ctx, group, op);
    return;
  }
  // One constant operand: it must broadcast per channel (or be a scalar).
  const x = ctx.input(node, c0 ? 1 : 0);
  const vec = channelVector(ctx, node, x, (c0 ? n0 : n1)!);
  const { act, out } = ctx.takeAct(node.output![0]!, group);
  if (op === 0) emitAffine(ctx, node, x, out, ones(x), vec, act);
  else if (op === 1) emitAffine(ctx, node, x, out, vec, new Float32Array(x.c), act);
  else if (!c0)
    emitAffine(
      ctx,
      node,
      x,
      out,
      ones(x),
      vec.map((v) => -v),
      act,
    );
  else emitAffine(ctx, node, x, out, new Float32Array(x.c).fill(-1), vec, act);
}

/** Both operands computed: same shape, or one of them per channel ([N,C,1,1]). */
function lowerDynamic(node: NodeProto, ctx: LowerContext, group: number[], op: 0 | 1 | 2): void {
  const a = ctx.input(node, 0);
  const b = ctx.input(node, 1);
  const same = a.rank === b.rank && a.n === b.n && a.c === b.c && a.h === b.h && a.w === b.w;
  if (same) {
    const { act, out } = ctx.takeAct(node.output![0]!, group);
    const y = ctx.place(out, a.rank, a.n, a.c, a.h, a.w);
    const pa = ctx.addr(a);
    const pb = ctx.addr(b);
    const po = ctx.addr(y);
    const n = tensorBytes(a) / 4;
    ctx.emit(
      node.opType!,
      node.name ?? out,
      (base) => () => ctx.k.binary(op, pa(base), pb(base), po(base), n, act),
    );
    return;
  }
  // Per-channel dynamic broadcast ([N,C,1,1] against [N,C,H,W]), e.g. squeeze-and-excitation.
  const [big, vec] = a.h * a.w >= b.h * b.w ? [a, b] : [b, a];
  if (op === 2 || vec.h * vec.w !== 1 || vec.c !== big.c || vec.n !== big.n || big.rank !== 4) {
    unsupported(node, 'operands must have the same shape or broadcast per channel');
  }
  const { act, out } = ctx.takeAct(node.output![0]!, group);
  const y = ctx.place(out, 4, big.n, big.c, big.h, big.w);
  const ones = ctx.persist.put(`ones:${big.cs}`, () => new Float32Array(big.cs).fill(1));
  const zeros = ctx.persist.put(`zeros:${big.cs}`, () => new Float32Array(big.cs));
  const pBig = ctx.addr(big);
  const pVec = ctx.addr(vec);
  const po = ctx.addr(y);
  const img = big.h * big.w * big.cs * 4;
  ctx.emit(node.opType!, node.name ?? out, (base) => () => {
    for (let n = 0; n < big.n; n++) {
      const v = pVec(base) + n * vec.cs * 4;
      ctx.k.affine({
        a: pBig(base) + n * img,
        scale: op === 1 ? v : ones,
        shift: op === 1 ? zeros : v,
        out: po(base) + n * img,
        npix: big.h * big.w,
        cs: big.cs,
        act,
      });
    }
  });
}

export const binaryLowering: OpLowering = {
  ops: ['Add', 'Mul', 'Sub', 'Div'],
  // x / constant is a scale; a tensor divisor has no kernel.
  check: (node, { consts }) =>
    node.opType === 'Div' && !consts.isFloat(node.input?.[1]) ? 'the divisor must be a constant' : undefined,
  lower: lowerBinary,
};
