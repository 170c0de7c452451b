/** Softmax over the last axis of a [N, C] tensor (a classifier's probabilities). */
import { attrInt } from '../../onnx/attributes.ts';
import { type OpLowering, unsupported } from '../lowering.ts';

export const softmaxLowering: OpLowering = {
  ops: ['Softmax'],
  check: (node) => ([-1, 1].includes(attrInt(node, 'axis', -1)) ? undefined : 'only the last axis'),
  lower(node, ctx) {
    const x = ctx.input(node, 0);
    const axis = attrInt(node, 'axis', -1);
    if (x.rank !== 2 || (axis !== -1 && axis !== 1)) unsupported(node, 'only over the last axis of [N, C]');
    const out = node.output?.[0] ?? '';
    const y = ctx.place(out, 2, x.n, x.c, 1, 1);
    const a = ctx.addr(x);
    const b = ctx.addr(y);
    ctx.emit(
      'Softmax',
      node.name ?? out,
      (base) => () => ctx.k.raw.softmax(a(base), b(base), x.n, x.c, x.cs * 4),
    );
  },
};
