/**
 * The four ways the engine runs a prepared Conv, tried in order:
 *   pointwise  1×1 stride 1 unpadded: one GEMM over all pixels (may add a residual in its epilogue)
 *   depthwise  3×3 per-channel, square stride: the dw3x3 kernel
 *   im2col     any other ungrouped conv: im2col in row chunks + the same GEMM
 *   grouped    anything else: the direct (slow, general) kernel
 */
import type { NodeProto } from '../../onnx/proto.ts';
import type { Act } from '../constants.ts';
import type { ImageArg, Window2d } from '../kernel-calls.ts';
import { packDw3x3, packPanels, type PlacedTensor } from '../layout.ts';
import type { LowerContext } from '../lowering.ts';
import { gemmCall } from './gemm.ts';

/** A Conv with BN folded in and its epilogue decided, its output placed. */
export interface PreparedConv {
  node: NodeProto;
  /** Prefix of this conv's keys in the persistent region. */
  key: string;
  x: PlacedTensor;
  y: PlacedTensor;
  /** ONNX layout [cout][cing][kh][kw]. */
  weights: Float32Array;
  /** Offset of the bias padded to y.cs. */
  bias: number;
  cout: number;
  cing: number;
  groups: number;
  win: Window2d;
  pointwise: boolean;
  act: Act;
  res?: PlacedTensor;
  /** The name steps are reported under. */
  name: string;
}

export interface ConvStrategy {
  readonly name: string;
  accepts(conv: PreparedConv): boolean;
  lower(conv: PreparedConv, ctx: LowerContext): void;
}

const image = (t: PlacedTensor, at: number): ImageArg => ({ at, h: t.h, w: t.w, cs: t.cs });
const imageBytes = (t: PlacedTensor) => t.h * t.w * t.cs * 4;

const pointwise: ConvStrategy = {
  name: 'pointwise',
  accepts: (c) => c.pointwise,
  lower({ key, x, y, weights, bias, cout, act, res, name }, ctx) {
    const packed = ctx.persist.put(`${key}:gemm`, () =>
      packPanels(weights, cout, x.c, x.cs, y.cs, (co, k) => co * x.c + k),
    );
    const a = ctx.addr(x);
    const o = ctx.addr(y);
    const r = res ? ctx.addr(res) : undefined;
    const m = x.n * x.h * x.w;
    const gemm = gemmCall(ctx, x.cs, m, packed, y.cs, bias, act);
    ctx.emit('Conv1x1', name, (base) => () => gemm.run(base, a(base), m, o(base), r ? r(base) : 0));
    gemm.free();
  },
};

/** The shape both depthwise kernels (fp32 and int8) take: 3×3 per channel, no dilation, square stride. */
export function isDepthwise3x3({
  groups,
  cout,
  cing,
  x,
  win: v,
}: Pick<PreparedConv, 'groups' | 'cout' | 'cing' | 'x' | 'win'>): boolean {
  return (
    groups === x.c &&
    cout === x.c &&
    cing === 1 &&
    v.kh === 3 &&
    v.kw === 3 &&
    v.dh === 1 &&
    v.dw === 1 &&
    v.sh === v.sw
  );
}

const depthwise: ConvStrategy = {
  name: 'depthwise',
  accepts: isDepthwise3x3,
  lower({ key, x, y, weights, bias, cout, act, win, name }, ctx) {
    const packed = ctx.persist.put(`${key}:dw`, () => packDw3x3(weights, cout, x.cs));
    const zero = ctx.persist.put(`zero:${x.w * x.cs}`, () => new Float32Array(x.w * x.cs));
    const a = ctx.addr(x);
    const o = ctx.addr(y);
    ctx.emit('ConvDepthwise', name, (base) => () => {
      for (let n = 0; n < x.n; n++) {
        ctx.k.dw3x3({
          input: image(x, a(base) + n * imageBytes(x)),
          out: o(base) + n * imageBytes(y),
          oh: y.h,
          ow: y.w,
          stride: win.sh,
          padTop: win.pt,
          padLeft: win.pl,
          weights: packed,
          bias,
          act,
          zero,
        });
      }
    });
  },
};

const im2col: ConvStrategy = {
  name: 'im2col',
  accepts: (c) => c.groups === 1,
  lower({ key, x, y, weights, bias, cout, act, win, name }, ctx) {
    // K keeps only the real input channels.
    const { kh, kw } = win;
    const kk = kh * kw * x.c;
    const packed = ctx.persist.put(`${key}:gemm`, () =>
      packPanels(weights, cout, kk, kk, y.cs, (co, k) => {
        const tap = Math.floor(k / x.c);
        const ci = k % x.c;
        return ((co * x.c + ci) * kh + Math.floor(tap / kw)) * kw + (tap % kw);
      }),
    );
    const p = y.h * y.w;
    const rows = Math.max(4, Math.min(p, Math.floor(65536 / (kk * 4)) & ~3));
    // +16: im2col's 4-lane copies for inputs of under 4 channels run past the last row.
    const col = ctx.scratch(rows * kk * 4 + 16);
    const gemm = gemmCall(ctx, kk, rows, packed, y.cs, bias, act);
    const a = ctx.addr(x);
    const o = ctx.addr(y);
    ctx.emit('Conv', name, (base) => () => {
      const colAt = base + col;
      for (let n = 0; n < x.n; n++) {
        const input = image(x, a(base) + n * imageBytes(x));
        const dst = o(base) + n * imageBytes(y);
        for (let p0 = 0; p0 < p; p0 += rows) {
          const r = Math.min(rows, p - p0);
          ctx.k.im2col({ input, coff: 0, cin: x.c, win, ow: y.w, p0, rows: r, dst: colAt });
          gemm.run(base, colAt, r, dst + p0 * y.cs * 4);
        }
      }
    });
    ctx.freeScratch(col);
    gemm.free();
  },
};

const grouped: ConvStrategy = {
  name: 'grouped',
  accepts: () => true,
  lower({ key, x, y, weights, bias, cout, cing, groups, act, win, name }, ctx) {
    const raw = ctx.persist.put(`${key}:direct`, () => weights);
    const a = ctx.addr(x);
    const o = ctx.addr(y);
    ctx.emit('ConvGrouped', name, (base) => () => {
      for (let n = 0; n < x.n; n++) {
        ctx.k.convDirect({
          input: image(x, a(base) + n * imageBytes(x)),
          out: o(base) + n * imageBytes(y),
          oh: y.h,
          ow: y.w,
          cso: y.cs,
          win,
          cing,
          coutg: cout / groups,
          cout,
          weights: raw,
          bias,
          act,
        });
      }
    });
  },
};

export const CONV_STRATEGIES: readonly ConvStrategy[] = [pointwise, depthwise, im2col, grouped];
