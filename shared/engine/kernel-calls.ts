/**
 * Named-argument front of the kernel module. The wasm exports take long positional lists (that is
 * the wasm ABI); a lowering fills in one of these structures instead, so a swapped stride and
 * padding is a type error rather than a silently wrong image. Pointers and strides are byte
 * offsets into the kernel memory.
 */
import type { Act } from './constants.ts';
import type { KernelExports, Requant } from './kernels.ts';

/** An NHWC image in kernel memory: `cs` is the padded channel stride in floats. */
export interface ImageArg {
  at: number;
  h: number;
  w: number;
  cs: number;
}

export interface GemmArgs {
  /** A: m rows of k floats, rows `lda` bytes apart. */
  a: number;
  lda: number;
  m: number;
  k: number;
  /** B packed in 8-column panels, n (padded) columns. */
  b: number;
  n: number;
  bias: number;
  c: number;
  ldc: number;
  /** Rows of A repacked per chunk, and where. */
  mc: number;
  pack: number;
  act: Act;
  /** A tensor laid out like C to add after the epilogue (a fused residual Add), or 0. */
  res: number;
}

export interface Dw3x3Args {
  input: ImageArg;
  out: number;
  oh: number;
  ow: number;
  stride: number;
  padTop: number;
  padLeft: number;
  weights: number;
  bias: number;
  act: Act;
  /** A zero row as wide as an input row (reads of the padding come from it). */
  zero: number;
}

/** Kernel height/width, strides, top/left pads and dilations of a 2-D window. */
export interface Window2d {
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  pt: number;
  pl: number;
  dh: number;
  dw: number;
}

export interface Im2colArgs {
  input: ImageArg;
  /** First channel and channel count taken from the input. */
  coff: number;
  cin: number;
  win: Window2d;
  ow: number;
  /** Output pixels p0 .. p0 + rows - 1 become rows of `dst`. */
  p0: number;
  rows: number;
  dst: number;
}

export interface ConvDirectArgs {
  input: ImageArg;
  out: number;
  oh: number;
  ow: number;
  cso: number;
  win: Window2d;
  cing: number;
  coutg: number;
  cout: number;
  weights: number;
  bias: number;
  act: Act;
}

export interface PoolArgs {
  input: ImageArg;
  out: number;
  oh: number;
  ow: number;
  win: Window2d;
  /** 0 max, 1 average over real pixels, 2 average counting the padding. */
  mode: 0 | 1 | 2;
}

export interface AffineArgs {
  a: number;
  scale: number;
  shift: number;
  out: number;
  npix: number;
  cs: number;
  act: Act;
}

/** Per-tensor activation quantization: code = clamp(round(x / scale) + zp, 0, qmax). */
export interface QuantParams {
  scale: number;
  zp: number;
  /** Largest code: 127 where a Clip keeps codes 7-bit (the int8 kernels need that), else 255. */
  qmax: number;
}

export interface QuantizeArgs {
  /** rows of cs floats, `ss` bytes apart → rows of cs codes, `ds` bytes apart. */
  src: number;
  rows: number;
  cs: number;
  ss: number;
  dst: number;
  ds: number;
  q: QuantParams;
  /** A fused Clip before the quantization (±Infinity for none). */
  lo: number;
  hi: number;
}

/**
 * An epilogue's requantization for the next int8 op: codes written `ld` bytes per row at `at`,
 * clamped to [lo, hi] (a fused Clip) first, exactly as the quantize pass would.
 */
export interface CodesOut {
  at: number;
  ld: number;
  q: QuantParams;
  lo: number;
  hi: number;
}

/** A kernel's requantizing-epilogue arguments (unused when it writes no codes). */
function requant(o: CodesOut | undefined): Requant {
  return o ? [o.q.scale, o.q.zp, o.lo, o.hi, o.q.qmax] : [1, 0, 0, 0, 0];
}

export interface QGemmArgs {
  /** A: m rows of kq codes, `lda` bytes apart. */
  a: number;
  lda: number;
  m: number;
  kq: number;
  /** B: int8 in 8-column panels (layout.ts packQPanels), n (padded) columns. */
  b: number;
  n: number;
  /** Per column: int32 zero-point correction, f32 scale, f32 bias. */
  zc: number;
  scale: number;
  bias: number;
  /** Float output (-1: none, when only `codes` are wanted). */
  c: number;
  ldc: number;
  act: Act;
  res: number;
  codes?: CodesOut;
  /** Rows per chunk (layout.ts qchunkRows) and its scratch (qpackBytes). */
  mc: number;
  pack: number;
}

export interface QDw3x3Args {
  /** Codes image (cs bytes per pixel). */
  input: ImageArg;
  zp: number;
  /** Float output (-1: none, when only `codes` are wanted). */
  out: number;
  oh: number;
  ow: number;
  stride: number;
  padTop: number;
  padLeft: number;
  /** int16 [9][cs]. */
  weights: number;
  /** int8 tap fours [3][cs][4]: taps 0-3, 4-7, 8 with three zero partners. */
  quads: number;
  /** int32 [cs]: -zp · Σ_taps weights. */
  zc: number;
  scale: number;
  bias: number;
  act: Act;
  /** Codes with the same pixel stride (cs bytes). */
  codes?: CodesOut;
}

export interface Im2colU8Args {
  input: ImageArg;
  cin: number;
  win: Window2d;
  ow: number;
  p0: number;
  rows: number;
  dst: number;
  /** Bytes per output row (kh·kw·cin rounded up to 4). */
  kq: number;
  zp: number;
}

/** The calls the lowerings make; short kernels keep their positional form. */
export class KernelCalls {
  constructor(readonly raw: KernelExports) {}

  gemm(g: GemmArgs): void {
    const { act } = g;
    this.raw.gemm(
      g.a,
      g.lda,
      g.m,
      g.k,
      g.b,
      g.n,
      g.bias,
      g.c,
      g.ldc,
      g.mc,
      act.lo,
      act.hi,
      act.hs,
      g.pack,
      g.res,
    );
  }

  dw3x3(d: Dw3x3Args): void {
    const { input: x, act } = d;
    this.raw.dw3x3(
      x.at,
      x.h,
      x.w,
      x.cs,
      d.out,
      d.oh,
      d.ow,
      d.stride,
      d.padTop,
      d.padLeft,
      d.weights,
      d.bias,
      act.lo,
      act.hi,
      act.hs,
      d.zero,
    );
  }

  im2col(c: Im2colArgs): void {
    const { input: x, win: v } = c;
    this.raw.im2col(
      x.at,
      x.h,
      x.w,
      x.cs,
      c.coff,
      c.cin,
      v.kh,
      v.kw,
      v.sh,
      v.sw,
      v.pt,
      v.pl,
      v.dh,
      v.dw,
      c.ow,
      c.p0,
      c.rows,
      c.dst,
    );
  }

  convDirect(c: ConvDirectArgs): void {
    const { input: x, win: v, act } = c;
    this.raw.conv_direct(
      x.at,
      x.h,
      x.w,
      x.cs,
      c.out,
      c.oh,
      c.ow,
      c.cso,
      v.kh,
      v.kw,
      v.sh,
      v.sw,
      v.pt,
      v.pl,
      v.dh,
      v.dw,
      c.cing,
      c.coutg,
      c.cout,
      c.weights,
      c.bias,
      act.lo,
      act.hi,
      act.hs,
    );
  }

  pool(p: PoolArgs): void {
    const { input: x, win: v } = p;
    this.raw.pool(x.at, x.h, x.w, x.cs, p.out, p.oh, p.ow, v.kh, v.kw, v.sh, v.sw, v.pt, v.pl, p.mode);
  }

  affine(f: AffineArgs): void {
    const { act } = f;
    this.raw.affine_c(f.a, f.scale, f.shift, f.out, f.npix, f.cs, act.lo, act.hi, act.hs);
  }

  quantize(q: QuantizeArgs): void {
    this.raw.quantize(q.src, q.rows, q.cs, q.ss, q.dst, q.ds, q.q.scale, q.q.zp, q.lo, q.hi, q.q.qmax);
  }

  dequantize(
    src: number,
    rows: number,
    cs: number,
    ss: number,
    dst: number,
    ds: number,
    q: QuantParams,
  ): void {
    this.raw.dequantize(src, rows, cs, ss, dst, ds, q.scale, q.zp);
  }

  qgemm(g: QGemmArgs): void {
    const { act } = g;
    this.raw.qgemm(
      g.a,
      g.lda,
      g.m,
      g.kq,
      g.b,
      g.n,
      g.zc,
      g.scale,
      g.bias,
      g.c,
      g.ldc,
      act.lo,
      act.hi,
      act.hs,
      g.res,
      g.codes ? g.codes.at : -1,
      g.codes ? g.codes.ld : 0,
      ...requant(g.codes),
      g.mc,
      g.pack,
    );
  }

  qdw3x3(d: QDw3x3Args): void {
    const { input: x, act } = d;
    this.raw.qdw3x3(
      x.at,
      x.h,
      x.w,
      x.cs,
      d.zp,
      d.out,
      d.oh,
      d.ow,
      d.stride,
      d.padTop,
      d.padLeft,
      d.weights,
      d.quads,
      d.zc,
      d.scale,
      d.bias,
      act.lo,
      act.hi,
      act.hs,
      d.codes ? d.codes.at : -1,
      ...requant(d.codes),
    );
  }

  im2colU8(c: Im2colU8Args): void {
    const { input: x, win: v } = c;
    this.raw.im2col_u8(
      x.at,
      x.h,
      x.w,
      x.cs,
      c.cin,
      v.kh,
      v.kw,
      v.sh,
      v.sw,
      v.pt,
      v.pl,
      v.dh,
      v.dw,
      c.ow,
      c.p0,
      c.rows,
      c.dst,
      c.kq,
      c.zp,
    );
  }

  binary(op: 0 | 1 | 2, a: number, b: number, out: number, n: number, act: Act): void {
    this.raw.binary(op, a, b, out, n, act.lo, act.hi, act.hs);
  }
}
