/**
 * The kernel module's exports and how a host hands it to the engine. The engine never compiles
 * wasm from bytes (workerd forbids it): the host passes precompiled `WebAssembly.Module`s — in
 * workerd from `import kernels from './kernels-relaxed.wasm'`, in Node from kernels/node-kernels.ts.
 */

/** Precompiled kernel modules. `relaxed` (f32x4.relaxed_madd) is preferred when present. */
export interface KernelModules {
  simd: WebAssembly.Module;
  relaxed?: WebAssembly.Module;
}

export type KernelVariant = 'relaxed' | 'simd';

/** Signatures of kernels/kernels.wat (pointers and strides are byte offsets). */
/** A requantizing epilogue's scale, zero point, Clip bounds and largest code. */
export type Requant = [scale: number, zp: number, lo: number, hi: number, qmax: number];

export interface KernelExports {
  memory: WebAssembly.Memory;
  gemm(
    a: number,
    lda: number,
    m: number,
    k: number,
    b: number,
    n: number,
    bias: number,
    c: number,
    ldc: number,
    mc: number,
    lo: number,
    hi: number,
    hs: number,
    pack: number,
    /** A tensor laid out like C to add after the epilogue (a fused residual Add), or 0. */
    res: number,
  ): void;
  dw3x3(
    input: number,
    h: number,
    w: number,
    c: number,
    out: number,
    oh: number,
    ow: number,
    stride: number,
    padt: number,
    padl: number,
    wt: number,
    bias: number,
    lo: number,
    hi: number,
    hs: number,
    zero: number,
  ): void;
  im2col(
    input: number,
    h: number,
    w: number,
    cs: number,
    coff: number,
    cin: number,
    kh: number,
    kw: number,
    sh: number,
    sw: number,
    pt: number,
    pl: number,
    dh: number,
    dw: number,
    ow: number,
    p0: number,
    rows: number,
    dst: number,
  ): void;
  conv_direct(
    input: number,
    h: number,
    w: number,
    cs: number,
    out: number,
    oh: number,
    ow: number,
    cso: number,
    kh: number,
    kw: number,
    sh: number,
    sw: number,
    pt: number,
    pl: number,
    dh: number,
    dw: number,
    cing: number,
    coutg: number,
    cout: number,
    wt: number,
    bias: number,
    lo: number,
    hi: number,
    hs: number,
  ): void;
  pool(
    input: number,
    h: number,
    w: number,
    cs: number,
    out: number,
    oh: number,
    ow: number,
    kh: number,
    kw: number,
    sh: number,
    sw: number,
    pt: number,
    pl: number,
    mode: number,
  ): void;
  gap(input: number, hw: number, cs: number, out: number): void;
  binary(op: number, a: number, b: number, out: number, n: number, lo: number, hi: number, hs: number): void;
  affine_c(
    a: number,
    scale: number,
    shift: number,
    out: number,
    npix: number,
    cs: number,
    lo: number,
    hi: number,
    hs: number,
  ): void;
  sigmoid(a: number, out: number, n: number): void;
  softmax(a: number, out: number, rows: number, n: number, ld: number): void;
  nchw_to_nhwc(src: number, c: number, hw: number, dst: number, cs: number): void;
  nhwc_to_nchw(src: number, c: number, hw: number, cs: number, dst: number): void;
  copy_rows(src: number, rows: number, c: number, ss: number, dst: number, ds: number): void;
  // int8 kernels (engine/kernels-int8.wat)
  quantize(
    src: number,
    rows: number,
    cs: number,
    ss: number,
    dst: number,
    ds: number,
    scale: number,
    zp: number,
    lo: number,
    hi: number,
    qmax: number,
  ): void;
  dequantize(
    src: number,
    rows: number,
    cs: number,
    ss: number,
    dst: number,
    ds: number,
    scale: number,
    zp: number,
  ): void;
  qgemm(
    a: number,
    lda: number,
    m: number,
    kq: number,
    b: number,
    n: number,
    zc: number,
    sc: number,
    bias: number,
    c: number,
    ldc: number,
    lo: number,
    hi: number,
    hs: number,
    res: number,
    q: number,
    ldq: number,
    ...rest: [...Requant, mc: number, pack: number]
  ): void;
  qdw3x3(
    input: number,
    h: number,
    w: number,
    cs: number,
    zp: number,
    out: number,
    oh: number,
    ow: number,
    stride: number,
    padt: number,
    padl: number,
    wt: number,
    wt2: number,
    zc: number,
    sc: number,
    bias: number,
    lo: number,
    hi: number,
    hs: number,
    q: number,
    ...requant: Requant
  ): void;
  im2col_u8(
    input: number,
    h: number,
    w: number,
    cs: number,
    cin: number,
    kh: number,
    kw: number,
    sh: number,
    sw: number,
    pt: number,
    pl: number,
    dh: number,
    dw: number,
    ow: number,
    p0: number,
    rows: number,
    dst: number,
    kq: number,
    zp: number,
  ): void;
}

export interface Kernels {
  variant: KernelVariant;
  exports: KernelExports;
}

/**
 * Instantiates the relaxed-SIMD module when the host supplied one (a host only supplies it where
 * it compiled), otherwise the SIMD128 fallback. Each session gets its own instance and memory.
 */
export async function instantiateKernels(modules: KernelModules): Promise<Kernels> {
  return instantiateKernelsSync(modules);
}

/**
 * The same, synchronously: instantiating an already compiled module generates no code, so it is
 * allowed anywhere, the Worker's global scope included.
 */
export function instantiateKernelsSync(modules: KernelModules): Kernels {
  if (modules.relaxed) {
    try {
      const instance = new WebAssembly.Instance(modules.relaxed, {});
      return { variant: 'relaxed', exports: instance.exports as unknown as KernelExports };
    } catch {
      // fall through to the portable module
    }
  }
  const instance = new WebAssembly.Instance(modules.simd, {});
  return { variant: 'simd', exports: instance.exports as unknown as KernelExports };
}
