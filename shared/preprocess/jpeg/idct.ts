/**
 * Scaled inverse DCT: an 8×8 block of dequantised coefficients → an nx × ny block of samples
 * (n ∈ {1, 2, 4, 8}), the "DCT-domain scaling" of libjpeg's scale_denom. Only the nx × ny
 * lowest frequencies are used; the basis is the n-point orthonormal IDCT times sqrt(n / 8) per
 * axis, so a block's mean (DC / 8) is kept at every scale and a 1×1 output is exactly the mean.
 *
 * Float64, fixed evaluation order, tables built once from Math.cos (V8's fdlibm port in Node and
 * workerd alike): the same bits on every runtime, which the Node/workerd parity test checks.
 */
const TABLES: (Float64Array | undefined)[] = [];

function basis(n: number): Float64Array {
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

/** Scratch for one block; decoding is single-threaded, so one per module is enough. */
const rows = new Float64Array(64);
const deq = new Float64Array(64);
const liveRows = new Int32Array(8);

/**
 * `coef`: 64 quantised coefficients in natural (row-major) order at `at`; `quant`: the table in
 * natural order. Writes ny rows of nx samples into `out` at `outOffset` with row stride `stride`,
 * level-shifted by 128, rounded half up and clamped to 0..255.
 *
 * Most coefficients of a photo block are zero, so the passes only visit coefficient rows that
 * have a non-zero value and, within a row, only up to its last non-zero column; a block with
 * only its DC term is a constant. Skipped terms are exact zeros, so the result is the same as
 * the full sums in the same order.
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
  let live = 0;
  let acSeen = false;
  for (let v = 0; v < ny; v++) {
    const c = at + v * 8;
    let last = -1;
    for (let u = nx - 1; u >= 0; u--) {
      if (coef[c + u] !== 0) {
        last = u;
        break;
      }
    }
    if (last < 0) continue;
    if (v > 0 || last > 0) acSeen = true;
    liveRows[live++] = v;
    for (let u = 0; u <= last; u++) deq[v * 8 + u] = coef[c + u]! * quant[v * 8 + u]!;
    for (let u = last + 1; u < nx; u++) deq[v * 8 + u] = 0;
  }
  if (!acSeen) {
    // DC only (or nothing): the block is its mean, DC / 8, everywhere.
    const dc = live > 0 ? deq[0]! : 0;
    const p = Math.floor(dc / 8 + 128.5);
    const value = p < 0 ? 0 : Math.min(p, 255);
    for (let y = 0; y < ny; y++) out.fill(value, outOffset + y * stride, outOffset + y * stride + nx);
    return;
  }
  const bx = basis(nx);
  const by = basis(ny);
  for (let i = 0; i < live; i++) {
    const v = liveRows[i]!;
    const r = v * nx;
    for (let x = 0; x < nx; x++) {
      let s = 0;
      const b = x * nx;
      for (let u = 0; u < nx; u++) s += bx[b + u]! * deq[v * 8 + u]!;
      rows[r + x] = s;
    }
  }
  for (let y = 0; y < ny; y++) {
    const b = y * ny;
    const o = outOffset + y * stride;
    for (let x = 0; x < nx; x++) {
      let s = 0;
      for (let i = 0; i < live; i++) {
        const v = liveRows[i]!;
        s += by[b + v]! * rows[v * nx + x]!;
      }
      const p = Math.floor(s + 128.5);
      out[o + x] = p < 0 ? 0 : Math.min(p, 255);
    }
  }
}
