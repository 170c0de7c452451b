/**
 * Scaled inverse DCT: an 8×8 block of dequantised coefficients → an nx × ny block of samples
 * (n ∈ {1, 2, 4, 8}), the "DCT-domain scaling" of libjpeg's scale_denom. Only the nx × ny
 * lowest frequencies are used; the basis is the n-point orthonormal IDCT times sqrt(n / 8) per
 * axis, so a block's mean (DC / 8) is kept at every scale and a 1×1 output is exactly the mean.
 * Each output sample is floor(s + 128.5) clamped to 0..255 (level shift, rounded half up).
 *
 * The transform runs in the WebAssembly kernels (codecs/jpeg/idct.ts); its basis tables are
 * built here, once per instance, in float64 from Math.cos (V8's fdlibm port in Node and workerd
 * alike) and copied into the kernels' memory: the same bits on every runtime, which the
 * Node/workerd parity test checks. The kernels sum in a fixed order and skip only exact zeros.
 */
const TABLES: (Float64Array | undefined)[] = [];

export function basis(n: number): Float64Array {
  let t = TABLES[n];
  if (!t) {
    t = new Float64Array(n * n);
    for (let x = 0; x < n; x++) {
      for (let u = 0; u < n; u++) {
        const alpha = u === 0 ? Math.sqrt(1 / n) : Math.sqrt(2 / n);
        t[x * n + u] = Math.sqrt(n / 8) * alpha * Math.cos(((2 * x + 1) * u * Math.PI) / (2 * n));
      }
    }
    TABLES[n] = t;
  }
  return t;
}
