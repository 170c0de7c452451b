/** Pooling: GlobalAveragePool, and MaxPool/AveragePool windows (no dilation). */
import { attrInt, attrInts } from '../../onnx/attributes.ts';
import type { NodeProto } from '../../onnx/proto.ts';
import { outputSize1d, windowPads2d } from '../../onnx/window.ts';
import type { Window2d } from '../kernel-calls.ts';
import { type LowerContext, type OpLowering, unsupported } from '../lowering.ts';

export const globalAveragePoolLowering: OpLowering = {
  ops: ['GlobalAveragePool'],
  check: () => undefined,
  lower(node, ctx) {
    const x = ctx.input(node, 0);
    if (x.rank !== 4) unsupported(node, 'needs a rank-4 input');
    const out = node.output?.[0] ?? '';
    const y = ctx.place(out, 4, x.n, x.c, 1, 1);
    const a = ctx.addr(x);
    const b = ctx.addr(y);
    const img = x.h * x.w * x.cs * 4;
    ctx.emit('GlobalAveragePool', node.name ?? out, (base) => () => {
      for (let n = 0; n < x.n; n++) ctx.k.raw.gap(a(base) + n * img, x.h * x.w, x.cs, b(base) + n * x.cs * 4);
    });
  },
};

function lowerPool(node: NodeProto, ctx: LowerContext): void {
  const x = ctx.input(node, 0);
  if (x.rank !== 4) unsupported(node, 'needs a rank-4 input');
  const [kh, kw] = (attrInts(node, 'kernel_shape') ?? []) as [number, number];
  const [sh, sw] = (attrInts(node, 'strides') ?? [1, 1]) as [number, number];
  const dil = attrInts(node, 'dilations') ?? [1, 1];
  if (dil.some((d) => d !== 1)) unsupported(node, 'dilations are not supported');
  const ceil = attrInt(node, 'ceil_mode', 0) === 1;
  const isMax = node.opType === 'MaxPool';
  if (ceil && !isMax) unsupported(node, 'ceil_mode is not supported for AveragePool');
  if (isMax && (node.output?.length ?? 1) > 1 && node.output?.[1]) unsupported(node, 'Indices output');
  const [pt, pl, pb, pr] = windowPads2d(node, x.h, x.w, [kh, kw], [sh, sw], [1, 1]);
  const oh = outputSize1d(x.h, kh, sh, 1, [pt, pb], ceil);
  const ow = outputSize1d(x.w, kw, sw, 1, [pl, pr], ceil);
  const mode = isMax ? 0 : attrInt(node, 'count_include_pad', 0) === 1 ? 2 : 1;
  const out = node.output![0]!;
  const y = ctx.place(out, 4, x.n, x.c, oh, ow);
  const a = ctx.addr(x);
  const o = ctx.addr(y);
  const imgIn = x.h * x.w * x.cs * 4;
  const imgOut = oh * ow * y.cs * 4;
  const win: Window2d = { kh, kw, sh, sw, pt, pl, dh: 1, dw: 1 };
  ctx.emit(node.opType!, node.name ?? out, (base) => () => {
    for (let n = 0; n < x.n; n++) {
      ctx.k.pool({
        input: { at: a(base) + n * imgIn, h: x.h, w: x.w, cs: x.cs },
        out: o(base) + n * imgOut,
        oh,
        ow,
        win,
        mode,
      });
    }
  });
}

export const windowPoolLowering: OpLowering = {
  ops: ['MaxPool', 'AveragePool'],
  check(node) {
    if ((attrInts(node, 'dilations') ?? []).some((d) => d !== 1)) return 'dilations';
    if (node.opType === 'AveragePool' && attrInt(node, 'ceil_mode', 0) === 1) return 'ceil_mode';
    if (node.opType === 'MaxPool' && node.output?.[1]) return 'Indices output';
    return undefined;
  },
  lower: lowerPool,
};
