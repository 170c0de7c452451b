/**
 * Ops that only move or rename data: Flatten/Reshape to [N, -1], Transpose (the Keras NHWC
 * flatten order, or an NHWC graph input), Identity/Dropout (aliases), Concat along channels,
 * Constant (read by the lowerings that use it).
 */
import { attrInt, attrInts } from '../../onnx/attributes.ts';
import type { NodeProto } from '../../onnx/proto.ts';
import { type LowerContext, type OpLowering, unsupported } from '../lowering.ts';

/** Flatten(axis 1) or Reshape to [N, -1]: free when spatial size is 1, else a reorder copy. */
function lowerFlatten(node: NodeProto, ctx: LowerContext): void {
  const x = ctx.input(node, 0);
  const out = node.output![0]!;
  if (node.opType === 'Flatten' && attrInt(node, 'axis', 1) !== 1) unsupported(node, 'only axis 1');
  if (node.opType === 'Reshape') {
    const shapeName = node.input?.[1];
    if (!ctx.consts.has(shapeName)) unsupported(node, 'shape must be a constant');
    const shape = ctx.consts.ints(shapeName!);
    const total = x.c * x.h * x.w;
    const ok =
      shape.length === 2 &&
      (shape[0] === x.n || shape[0] === 0 || shape[0] === -1) &&
      (shape[1] === total || shape[1] === -1);
    if (!ok) unsupported(node, `only [N, -1] reshapes, got [${shape.join(',')}]`);
  }
  const features = x.c * x.h * x.w;
  if (x.rank === 2 || (x.h === 1 && x.w === 1)) {
    ctx.alias(out, x, { rank: 2, c: features, h: 1, w: 1, view: false });
    return;
  }
  const y = ctx.place(out, 2, x.n, features, 1, 1);
  const a = ctx.addr(x);
  const o = ctx.addr(y);
  const hw = x.h * x.w;
  const imgIn = hw * x.cs * 4;
  const imgOut = y.cs * 4;
  const nhwcOrder = x.view === true;
  ctx.emit(nhwcOrder ? 'Transpose+Flatten' : 'Flatten', node.name ?? out, (base) => () => {
    for (let n = 0; n < x.n; n++) {
      if (nhwcOrder)
        ctx.k.raw.copy_rows(a(base) + n * imgIn, hw, x.c, x.cs * 4, o(base) + n * imgOut, x.c * 4);
      else ctx.k.raw.nhwc_to_nchw(a(base) + n * imgIn, x.c, hw, x.cs, o(base) + n * imgOut);
    }
  });
}

export const flattenLowering: OpLowering = {
  ops: ['Flatten', 'Reshape'],
  check(node, { consts }) {
    if (node.opType === 'Flatten') return attrInt(node, 'axis', 1) === 1 ? undefined : 'only axis 1';
    return consts.has(node.input?.[1]) ? undefined : 'shape must be a constant';
  },
  lower: lowerFlatten,
};

export const transposeLowering: OpLowering = {
  ops: ['Transpose'],
  check(node, { graphInputs }) {
    const perm = (attrInts(node, 'perm') ?? []).join(',');
    // [0,2,3,1] before a Flatten (Keras order), [0,3,1,2] straight after an NHWC graph input.
    if (perm === '0,2,3,1' || (perm === '0,3,1,2' && graphInputs.has(node.input?.[0] ?? '')))
      return undefined;
    return 'only perm [0,2,3,1], or [0,3,1,2] on an NHWC graph input';
  },
  lower(node, ctx) {
    const out = node.output?.[0] ?? '';
    // The input's NHWC→NCHW transpose was taken over by the input staging.
    if (ctx.tensor(out) && attrInts(node, 'perm')?.join(',') === '0,3,1,2') return;
    const x = ctx.input(node, 0);
    const perm = attrInts(node, 'perm') ?? [];
    if (x.rank !== 4 || perm.join(',') !== '0,2,3,1') unsupported(node, 'only perm [0,2,3,1] before Flatten');
    ctx.alias(out, x, { view: true });
  },
};

export const identityLowering: OpLowering = {
  ops: ['Identity', 'Dropout'],
  check: () => undefined,
  lower(node, ctx) {
    ctx.alias(node.output?.[0] ?? '', ctx.input(node, 0), {});
  },
};

export const constantLowering: OpLowering = {
  ops: ['Constant'],
  check: () => undefined,
  lower() {},
};

export const concatLowering: OpLowering = {
  ops: ['Concat'],
  check: () => undefined,
  lower(node, ctx) {
    const parts = (node.input ?? []).map((_, i) => ctx.input(node, i));
    const first = parts[0]!;
    const axis = attrInt(node, 'axis', 1);
    const rank = first.rank;
    if (axis !== 1 && axis !== 1 - rank) unsupported(node, 'only along the channel axis');
    if (parts.some((p) => p.rank !== rank || p.n !== first.n || p.h !== first.h || p.w !== first.w)) {
      unsupported(node, 'inputs differ outside the channel axis');
    }
    const c = parts.reduce((s, p) => s + p.c, 0);
    const out = node.output![0]!;
    const y = ctx.place(out, rank, first.n, c, first.h, first.w);
    const o = ctx.addr(y);
    const rows = first.n * first.h * first.w;
    const copies = parts.map((p, i) => ({
      a: ctx.addr(p),
      p,
      off: parts.slice(0, i).reduce((s, q) => s + q.c, 0) * 4,
    }));
    ctx.emit('Concat', node.name ?? out, (base) => () => {
      for (const { a, p, off } of copies)
        ctx.k.raw.copy_rows(a(base), rows, p.c, p.cs * 4, o(base) + off, y.cs * 4);
    });
  },
};
