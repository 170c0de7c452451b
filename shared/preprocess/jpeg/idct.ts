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
 * `dcOnly` may be given when the caller already knows whether any AC coefficient within nx × ny is
 * non-zero (the sequential decoder does). `coef`: 64 quantised coefficients in natural (row-major) order at `at`; `quant`: the table in
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
  dcOnly = isDcOnly(coef, at, nx, ny),
): void {
  if (dcOnly) {
    // DC only (or nothing): the block is its mean, DC / 8, everywhere.
    const p = Math.floor((coef[at]! * quant[0]!) / 8 + 128.5);
    const value = p < 0 ? 0 : Math.min(p, 255);
    for (let y = 0; y < ny; y++) {
      const o = outOffset + y * stride;
      for (let x = 0; x < nx; x++) out[o + x] = value;
    }
    return;
  }
  if (nx === 2 && ny === 2) {
    idct2x2(coef, at, quant, out, outOffset, stride);
    return;
  }
  if (nx === 4 && ny === 4) {
    idct4x4(coef, at, quant, out, outOffset, stride);
    return;
  }
  if (nx <= 4 && ny <= 4) {
    smallIdct(coef, at, quant, nx, ny, out, outOffset, stride);
    return;
  }
  const bx = basis(nx);
  const by = basis(ny);
  let live = 0;
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
    liveRows[live++] = v;
    for (let u = 0; u <= last; u++) deq[u] = coef[c + u]! * quant[v * 8 + u]!;
    // Terms past the row's last non-zero coefficient would add exact zeros: left out.
    const r = v * nx;
    for (let x = 0; x < nx; x++) {
      let s = 0;
      const b = x * nx;
      for (let u = 0; u <= last; u++) s += bx[b + u]! * deq[u]!;
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

function isDcOnly(coef: Int16Array | Int32Array, at: number, nx: number, ny: number): boolean {
  for (let v = 0; v < ny; v++) {
    for (let u = v === 0 ? 1 : 0; u < nx; u++) if (coef[at + v * 8 + u] !== 0) return false;
  }
  return true;
}

/**
 * The same sums as the general path for the 2- and 4-point transforms of shrink-on-load, without
 * its bookkeeping: rows and columns that the general path skips hold zeros here, and adding an
 * exact zero leaves every partial sum unchanged, so the bits are the same.
 */
function smallIdct(
  coef: Int16Array | Int32Array,
  at: number,
  quant: Uint16Array,
  nx: number,
  ny: number,
  out: Uint8Array,
  outOffset: number,
  stride: number,
): void {
  const bx = basis(nx);
  const by = basis(ny);
  for (let v = 0; v < ny; v++) {
    for (let x = 0; x < nx; x++) {
      let s = 0;
      const b = x * nx;
      for (let u = 0; u < nx; u++) s += bx[b + u]! * (coef[at + v * 8 + u]! * quant[v * 8 + u]!);
      rows[v * nx + x] = s;
    }
  }
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

const B4 = basis(4);
const rows4 = new Float64Array(16);

/**
 * smallIdct for 4×4 (chroma at 1/4 with 4:2:0, luma at 1/2), unrolled: each sum is still
 * 0 + k0·d0 + k1·d1 + k2·d2 + k3·d3 left to right, so the bits are those of the general path.
 */
function idct4x4(
  coef: Int16Array | Int32Array,
  at: number,
  quant: Uint16Array,
  out: Uint8Array,
  outOffset: number,
  stride: number,
): void {
  const r = rows4;
  for (let v = 0; v < 4; v++) {
    const c = at + v * 8;
    const q = v * 8;
    const d0 = coef[c]! * quant[q]!;
    const d1 = coef[c + 1]! * quant[q + 1]!;
    const d2 = coef[c + 2]! * quant[q + 2]!;
    const d3 = coef[c + 3]! * quant[q + 3]!;
    const o = v * 4;
    if (d0 === 0 && d1 === 0 && d2 === 0 && d3 === 0) {
      r[o] = 0;
      r[o + 1] = 0;
      r[o + 2] = 0;
      r[o + 3] = 0;
      continue;
    }
    for (let x = 0; x < 4; x++) {
      const b = x * 4;
      r[o + x] = B4[b]! * d0 + B4[b + 1]! * d1 + B4[b + 2]! * d2 + B4[b + 3]! * d3;
    }
  }
  for (let y = 0; y < 4; y++) {
    const b = y * 4;
    const k0 = B4[b]!;
    const k1 = B4[b + 1]!;
    const k2 = B4[b + 2]!;
    const k3 = B4[b + 3]!;
    const o = outOffset + y * stride;
    for (let x = 0; x < 4; x++) {
      const p = Math.floor(k0 * r[x]! + k1 * r[4 + x]! + k2 * r[8 + x]! + k3 * r[12 + x]! + 128.5);
      out[o + x] = p < 0 ? 0 : Math.min(p, 255);
    }
  }
}

const B2 = basis(2);

/** smallIdct for 2×2 (luma at 1/4), unrolled in the same order (see idct4x4). */
function idct2x2(
  coef: Int16Array | Int32Array,
  at: number,
  quant: Uint16Array,
  out: Uint8Array,
  outOffset: number,
  stride: number,
): void {
  const d00 = coef[at]! * quant[0]!;
  const d01 = coef[at + 1]! * quant[1]!;
  const d10 = coef[at + 8]! * quant[8]!;
  const d11 = coef[at + 9]! * quant[9]!;
  const b00 = B2[0]!;
  const b01 = B2[1]!;
  const b10 = B2[2]!;
  const b11 = B2[3]!;
  const r00 = b00 * d00 + b01 * d01;
  const r01 = b10 * d00 + b11 * d01;
  const r10 = b00 * d10 + b01 * d11;
  const r11 = b10 * d10 + b11 * d11;
  const p00 = Math.floor(b00 * r00 + b01 * r10 + 128.5);
  const p01 = Math.floor(b00 * r01 + b01 * r11 + 128.5);
  const p10 = Math.floor(b10 * r00 + b11 * r10 + 128.5);
  const p11 = Math.floor(b10 * r01 + b11 * r11 + 128.5);
  out[outOffset] = p00 < 0 ? 0 : Math.min(p00, 255);
  out[outOffset + 1] = p01 < 0 ? 0 : Math.min(p01, 255);
  out[outOffset + stride] = p10 < 0 ? 0 : Math.min(p10, 255);
  out[outOffset + stride + 1] = p11 < 0 ? 0 : Math.min(p11, 255);
}
