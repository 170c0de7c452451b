/**
 * The int8 ways the engine runs a prepared Conv whose input is uint8 codes and whose weights are
 * int8 (a QDQ graph), tried in order:
 *   pointwise  1×1 stride 1 unpadded: qgemm over all pixels (may add a residual in its epilogue)
 *   depthwise  3×3 per-channel, square stride: the qdw3x3 kernel
 *   im2col     any other ungrouped conv: im2col on codes in row chunks + the same qgemm
 * All accumulate exactly in int32 and write through one epilogue (dequantized, bias, activation
 * fused) fp32 for an fp32 reader and/or the next int8 op's codes (requantized there, qdq.ts
 * takeRequant), so no separate quantize pass runs between int8 convs.
 */
import type { CodesOut, ImageArg } from '../kernel-calls.ts';
import {
  type Addr,
  packQDw16,
  packQDwQuads,
  type PlacedTensor,
  putQPanels,
  qchunkRows,
  qdwZeroPointSums,
  qpackBytes,
  roundUp4,
} from '../layout.ts';
import type { LowerContext } from '../lowering.ts';
import { isDepthwise3x3, type PreparedConv } from './conv-strategies.ts';
import type { Requantized } from './qdq.ts';

/** A conv prepared for the int8 kernels: per-output-channel scale and bias with BN folded in. */
export interface PreparedQConv extends Omit<PreparedConv, 'weights' | 'bias'> {
  /**
   * int8 weight codes, ONNX layout [cout][cing][kh][kw]; read only to pack them (a restored
   * artifact's graph may carry none).
   */
  codes: () => Int8Array;
  /** The input codes' zero point. */
  zp: number;
  /** Per output channel: scale_x · scale_w · BN scale. */
  scale: Float32Array;
  bias: Float32Array;
  /** Whether the fp32 output `y` is written (else `y` is the requantized codes). */
  float: boolean;
  requant?: Requantized;
}

export interface QConvStrategy {
  readonly name: string;
  accepts(conv: PreparedQConv): boolean;
  lower(conv: PreparedQConv, ctx: LowerContext): void;
}

const image = (t: PlacedTensor, at: number): ImageArg => ({ at, h: t.h, w: t.w, cs: t.cs });
const codeBytes = (t: PlacedTensor) => t.h * t.w * t.cs;

/** Where a step writes: fp32 (-1: not written) and codes, rows of `y.cs` each from `pixel`. */
function outputs(
  ctx: LowerContext,
  conv: PreparedQConv,
): (base: number, pixel: number) => { c: number; codes?: CodesOut } {
  const { y, requant } = conv;
  const o: Addr | undefined = conv.float ? ctx.addr(y) : undefined;
  const q: Addr | undefined = requant ? ctx.addr(requant.codes) : undefined;
  return (base, pixel) => ({
    c: o ? o(base) + pixel * y.cs * 4 : -1,
    codes:
      q && requant
        ? { at: q(base) + pixel * y.cs, ld: y.cs, q: requant.codes.q!, lo: requant.lo, hi: requant.hi }
        : undefined,
  });
}

/** A per-channel vector padded with zeros to `cs`, stored once per model. */
function padded(ctx: LowerContext, key: string, v: Float32Array, cs: number): number {
  return ctx.persist.put(key, () => {
    const p = new Float32Array(cs);
    p.set(v);
    return p;
  });
}

/** Packed int8 weights, the zero-point correction, scale and bias of one qgemm. */
function qgemmOperands(
  ctx: LowerContext,
  conv: PreparedQConv,
  k: number,
  kq: number,
  index: (col: number, k: number) => number,
): { b: number; zc: number; scale: number; bias: number } {
  const { key, codes, cout, y, zp } = conv;
  return {
    ...putQPanels(ctx, key, { codes, n: cout, k, kq, ns: y.cs, zp }, index),
    scale: padded(ctx, `${key}:qscale`, conv.scale, y.cs),
    bias: padded(ctx, `${key}:qbias`, conv.bias, y.cs),
  };
}

const pointwise: QConvStrategy = {
  name: 'pointwise',
  accepts: (c) => c.pointwise,
  lower(conv, ctx) {
    const { x, y, act, res, name } = conv;
    const ops = qgemmOperands(ctx, conv, x.c, x.cs, (co, k) => co * x.c + k);
    const a = ctx.addr(x);
    const out = outputs(ctx, conv);
    const r = res ? ctx.addr(res) : undefined;
    const m = x.n * x.h * x.w;
    const mc = qchunkRows(x.cs, m);
    const pack = ctx.scratch(qpackBytes(mc, x.cs));
    ctx.emit(
      'QConv1x1',
      name,
      (base) => () =>
        ctx.k.qgemm({
          mc,
          pack: base + pack,
          a: a(base),
          lda: x.cs,
          m,
          kq: x.cs,
          ...ops,
          n: y.cs,
          ...out(base, 0),
          ldc: y.cs * 4,
          act,
          res: r ? r(base) : 0,
        }),
    );
    ctx.freeScratch(pack);
  },
};

const depthwise: QConvStrategy = {
  name: 'depthwise',
  accepts: isDepthwise3x3,
  lower(conv, ctx) {
    const { key, x, y, zp, scale, bias, cout, act, win, name } = conv;
    const weights = ctx.persist.put(`${key}:qdw16`, () => packQDw16(conv.codes(), cout, x.cs));
    const quads = ctx.persist.put(`${key}:qdwquads`, () => packQDwQuads(conv.codes(), cout, x.cs));
    const zc = ctx.persist.put(`${key}:qdwzc`, () => qdwZeroPointSums(conv.codes(), cout, x.cs, zp));
    const sc = padded(ctx, `${key}:qscale`, scale, y.cs);
    const b = padded(ctx, `${key}:qbias`, bias, y.cs);
    const a = ctx.addr(x);
    const out = outputs(ctx, conv);
    ctx.emit('QConvDepthwise', name, (base) => () => {
      for (let n = 0; n < x.n; n++) {
        const { c, codes: q } = out(base, n * y.h * y.w);
        ctx.k.qdw3x3({
          input: image(x, a(base) + n * codeBytes(x)),
          zp,
          out: c,
          oh: y.h,
          ow: y.w,
          stride: win.sh,
          padTop: win.pt,
          padLeft: win.pl,
          weights,
          quads,
          zc,
          scale: sc,
          bias: b,
          act,
          codes: q,
        });
      }
    });
  },
};

const im2col: QConvStrategy = {
  name: 'im2col',
  accepts: (c) => c.groups === 1,
  lower(conv, ctx) {
    const { x, y, zp, act, win, name } = conv;
    const { kh, kw } = win;
    const k = kh * kw * x.c;
    const kq = roundUp4(k);
    const ops = qgemmOperands(ctx, conv, k, kq, (co, kk) => {
      const tap = Math.floor(kk / x.c);
      const ci = kk % x.c;
      return ((co * x.c + ci) * kh + Math.floor(tap / kw)) * kw + (tap % kw);
    });
    const p = y.h * y.w;
    const rows = Math.max(4, Math.min(p, Math.floor(65536 / kq) & ~3));
    const col = ctx.scratch(rows * kq);
    const mc = qchunkRows(kq, rows);
    const pack = ctx.scratch(qpackBytes(mc, kq));
    const a = ctx.addr(x);
    const out = outputs(ctx, conv);
    ctx.emit('QConv', name, (base) => () => {
      const colAt = base + col;
      for (let n = 0; n < x.n; n++) {
        const input = image(x, a(base) + n * codeBytes(x));
        for (let p0 = 0; p0 < p; p0 += rows) {
          const r = Math.min(rows, p - p0);
          ctx.k.im2colU8({ input, cin: x.c, win, ow: y.w, p0, rows: r, dst: colAt, kq, zp });
          ctx.k.qgemm({
            mc,
            pack: base + pack,
            a: colAt,
            lda: kq,
            m: r,
            kq,
            ...ops,
            n: y.cs,
            ...out(base, n * p + p0),
            ldc: y.cs * 4,
            act,
            res: 0,
          });
        }
      }
    });
    ctx.freeScratch(pack);
    ctx.freeScratch(col);
  },
};

export const QCONV_STRATEGIES: readonly QConvStrategy[] = [pointwise, depthwise, im2col];
