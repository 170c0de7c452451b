/** LpNormalization (p = 2) over the last axis of a [N, C] tensor: the unit embedding a prototype head compares. */
import { attrInt } from '../../onnx/attributes.ts';
import { l2NormaliseRows } from '../l2-normalise.ts';
import { type OpLowering, unsupported } from '../lowering.ts';

export const lpNormalizationLowering: OpLowering = {
  ops: ['LpNormalization'],
  check(node) {
    if (attrInt(node, 'p', 2) !== 2) return 'only p = 2';
    return [-1, 1].includes(attrInt(node, 'axis', -1)) ? undefined : 'only the last axis';
  },
  lower(node, ctx) {
    const x = ctx.input(node, 0);
    const axis = attrInt(node, 'axis', -1);
    if (x.rank !== 2 || (axis !== -1 && axis !== 1) || attrInt(node, 'p', 2) !== 2)
      unsupported(node, 'only p = 2 over the last axis of [N, C]');
    const out = node.output?.[0] ?? '';
    const y = ctx.place(out, 2, x.n, x.c, 1, 1);
    const a = ctx.addr(x);
    const b = ctx.addr(y);
    ctx.emit(
      'LpNormalization',
      node.name ?? out,
      (base) => () => l2NormaliseRows(ctx.k.raw.memory.buffer, a(base), b(base), x.n, x.c, x.cs),
    );
  },
};
