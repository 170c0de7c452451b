/**
 * Scaled inverse DCT: an 8×8 block of dequantised coefficients → an nx × ny block of samples
 * (n ∈ {1, 2, 4, 8}), the "DCT-domain scaling" of libjpeg's scale_denom. Only the nx × ny
 * lowest frequencies are used; the basis is the n-point orthonormal IDCT times sqrt(n / 8) per
 * axis, so a block's mean (DC / 8) is kept at every scale and a 1×1 output is exactly the mean.
 *
 * Float64, fixed evaluation order, tables built once from Math.cos (V8's fdlibm port in Node and
 * workerd alike): the same bits on every runtime, which the Node/workerd parity test checks.
 */
const TABLES = new Map<number, Float64Array>();

function basis(n: number): Float64Array {
  let t = TABLES.get(n);
  if (!t) {
    t = new Float64Array(n * n);
    for (let x = 0; x < n; x++) {
      for (let u = 0; u < n; u++) {
        const alpha = u === 0 ? Math.sqrt(1 / n) : Math.sqrt(2 / n);
        t[x * n + u] = Math.sqrt(n / 8) * alpha * Math.cos(((2 * x + 1) * u * Math.PI) / (2 * n));
      }
    }
    TABLES.set(n, t);
  }
  return t;
}

/** Scratch for one block; decoding is single-threaded, so one per module is enough. */
const rows = new Float64Array(64);

/**
 * `coef`: 64 quantised coefficients in natural (row-major) order at `at`; `quant`: the table in
 * natural order. Writes ny rows of nx samples into `out` at `outOffset` with row stride `stride`,
 * level-shifted by 128, rounded half up and clamped to 0..255.
 */
export function inverseDct(
  coef: Int16Array | Int32Array,
  at: number,
  quant: Uint16Array,
  nx: number,
  ny: number,
  out: Uint8Array,
  outOffset: number,
  stride: number,
): void {
  if (nx === 1 && ny === 1) {
    const v = Math.floor((coef[at]! * quant[0]!) / 8 + 128.5);
    out[outOffset] = v < 0 ? 0 : Math.min(v, 255);
    return;
  }
  const bx = basis(nx);
  const by = basis(ny);
  // Horizontal pass over the ny lowest coefficient rows; all-zero rows stay zero.
  for (let v = 0; v < ny; v++) {
    const c = at + v * 8;
    let nonZero = false;
    for (let u = 0; u < nx; u++) if (coef[c + u] !== 0) nonZero = true;
    const r = v * nx;
    if (!nonZero) {
      for (let x = 0; x < nx; x++) rows[r + x] = 0;
      continue;
    }
    for (let x = 0; x < nx; x++) {
      let s = 0;
      const b = x * nx;
      for (let u = 0; u < nx; u++) s += bx[b + u]! * coef[c + u]! * quant[v * 8 + u]!;
      rows[r + x] = s;
    }
  }
  // Vertical pass.
  for (let y = 0; y < ny; y++) {
    const b = y * ny;
    const o = outOffset + y * stride;
    for (let x = 0; x < nx; x++) {
      let s = 0;
      for (let v = 0; v < ny; v++) s += by[b + v]! * rows[v * nx + x]!;
      const p = Math.floor(s + 128.5);
      out[o + x] = p < 0 ? 0 : Math.min(p, 255);
    }
  }
}
