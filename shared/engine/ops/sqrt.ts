/**
 * Sqrt, elementwise, in plain JS on the session's wasm memory: it runs on one embedding per image
 * (the power transform before a prototype head), so a kernel would buy nothing. Padding lanes are
 * zero and stay zero.
 */
import { tensorBytes } from '../layout.ts';
import type { OpLowering } from '../lowering.ts';

export const sqrtLowering: OpLowering = {
  ops: ['Sqrt'],
  check: () => undefined,
  lower(node, ctx) {
    const x = ctx.input(node, 0);
    const out = node.output?.[0] ?? '';
    const y = ctx.place(out, x.rank, x.n, x.c, x.h, x.w);
    const a = ctx.addr(x);
    const b = ctx.addr(y);
    const n = tensorBytes(x) / 4;
    ctx.emit('Sqrt', node.name ?? out, (base) => () => {
      const mem = new Float32Array(ctx.k.raw.memory.buffer);
      const src = a(base) / 4;
      const dst = b(base) / 4;
      for (let i = 0; i < n; i++) mem[dst + i] = Math.sqrt(mem[src + i]!);
    });
  },
};
