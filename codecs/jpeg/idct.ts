// AssemblyScript. The scaled inverse DCT of shared/preprocess/jpeg/idct.ts (its documentation holds
// the maths): the same float64 products and sums in the same order, two output samples per f64x2
// operation where the order allows, so every pixel has the bits of the TypeScript reference.

import { BASIS1, BASIS2, BASIS4, BASIS8, BASIS_T2, BASIS_T4, BASIS_T8, DEQ, LIVE, ROWS } from './layout';

function basisOf(n: i32): usize {
  return n === 8 ? BASIS8 : n === 4 ? BASIS4 : n === 2 ? BASIS2 : BASIS1;
}

/** The transposed basis (u-major: t[u·n + x] = b[x·n + u]), for two x per vector. */
function basisT(n: i32): usize {
  return n === 8 ? BASIS_T8 : n === 4 ? BASIS_T4 : n === 2 ? BASIS_T2 : BASIS1;
}

function clampByte(s: f64): u8 {
  const p = Math.floor(s + 128.5);
  return <u8>(p < 0 ? 0 : p > 255 ? 255 : <i32>p);
}

function storePair(out: usize, v: v128): void {
  // floor(s + 128.5), clamped to 0..255, two samples.
  const f = f64x2.floor(f64x2.add(v, f64x2.splat(128.5)));
  const i = i32x4.trunc_sat_f64x2_s_zero(f);
  const c = i32x4.min_s(i32x4.max_s(i, i32x4.splat(0)), i32x4.splat(255));
  store<u8>(out, <u8>i32x4.extract_lane(c, 0));
  store<u8>(out + 1, <u8>i32x4.extract_lane(c, 1));
}

/** Does the block have any AC coefficient within nx × ny (i32 coefficients at `coef`)? */
export function isDcOnly(coef: usize, nx: i32, ny: i32): bool {
  for (let v = 0; v < ny; v++) {
    for (let u = v === 0 ? 1 : 0; u < nx; u++) if (load<i32>(coef + ((v * 8 + u) << 2)) !== 0) return false;
  }
  return true;
}

/**
 * A flat block: plain stores of 1, 2, 4 or 8 bytes per row (memory.fill with a size only known at
 * run time is a call out of the compiled code, dearer than the few bytes it writes here).
 */
function fillBlock(out: usize, stride: i32, nx: i32, ny: i32, value: u8): void {
  const v = <u64>value * (((<u64>0x01010101) << 32) | 0x01010101);
  for (let y = 0; y < ny; y++) {
    const o = out + <usize>(y * stride);
    if (nx === 8) store<u64>(o, v);
    else if (nx === 4) store<u32>(o, <u32>v);
    else if (nx === 2) store<u16>(o, <u16>v);
    else store<u8>(o, value);
  }
}

/** The IDCT of a block with no AC coefficient (within nx × ny): DC · q / 8, level-shifted. */
export function flatBlock(dc: i32, q: i32, nx: i32, ny: i32, out: usize, stride: i32): void {
  const p = Math.floor((<f64>dc * <f64>q) / 8 + 128.5);
  fillBlock(out, stride, nx, ny, <u8>(p < 0 ? 0 : p > 255 ? 255 : <i32>p));
}

/**
 * coef: 64 i32 in natural order; quant: 64 i32; writes ny rows of nx samples at out (row stride).
 */
export function inverseDct(
  coef: usize,
  quant: usize,
  nx: i32,
  ny: i32,
  out: usize,
  stride: i32,
  dcOnly: bool,
): void {
  if (dcOnly) {
    flatBlock(load<i32>(coef), load<i32>(quant), nx, ny, out, stride);
    return;
  }
  if (nx === 2 && ny === 2) {
    idct2x2(coef, quant, out, stride);
    return;
  }
  if (nx === 4 && ny === 4) {
    idct4x4(coef, quant, out, stride);
    return;
  }
  if (nx <= 4 && ny <= 4) {
    smallIdct(coef, quant, nx, ny, out, stride);
    return;
  }
  general(coef, quant, nx, ny, out, stride);
}

function deq(coef: usize, quant: usize, k: i32): f64 {
  return <f64>load<i32>(coef + (k << 2)) * <f64>load<i32>(quant + (k << 2));
}

/** The general path (8-point on at least one axis), skipping all-zero rows and trailing zeros. */
function general(coef: usize, quant: usize, nx: i32, ny: i32, out: usize, stride: i32): void {
  const bx = basisOf(nx);
  const by = basisOf(ny);
  const btx = basisT(nx);
  let live = 0;
  for (let v = 0; v < ny; v++) {
    const c = coef + ((v * 8) << 2);
    let last = -1;
    for (let u = nx - 1; u >= 0; u--) {
      if (load<i32>(c + (u << 2)) !== 0) {
        last = u;
        break;
      }
    }
    if (last < 0) continue;
    store<i32>(LIVE + (live << 2), v);
    live++;
    for (let u = 0; u <= last; u++) store<f64>(DEQ + (u << 3), deq(coef, quant, v * 8 + u));
    const r = ROWS + ((v * nx) << 3);
    if (nx >= 2) {
      // Two x per vector: lane j sums 0 + b[x+j][0]·d0 + b[x+j][1]·d1 + … like the scalar loop.
      for (let x = 0; x < nx; x += 2) {
        let s = f64x2.splat(0);
        for (let u = 0; u <= last; u++) {
          const b = v128.load(btx + ((u * nx + x) << 3));
          s = f64x2.add(s, f64x2.mul(b, f64x2.splat(load<f64>(DEQ + (u << 3)))));
        }
        v128.store(r + (x << 3), s);
      }
    } else {
      let s: f64 = 0;
      for (let u = 0; u <= last; u++) s += load<f64>(bx + (u << 3)) * load<f64>(DEQ + (u << 3));
      store<f64>(r, s);
    }
  }
  for (let y = 0; y < ny; y++) {
    const b = by + ((y * ny) << 3);
    const o = out + y * stride;
    if (nx >= 2) {
      for (let x = 0; x < nx; x += 2) {
        let s = f64x2.splat(0);
        for (let i = 0; i < live; i++) {
          const v = load<i32>(LIVE + (i << 2));
          s = f64x2.add(
            s,
            f64x2.mul(f64x2.splat(load<f64>(b + (v << 3))), v128.load(ROWS + ((v * nx + x) << 3))),
          );
        }
        storePair(o + x, s);
      }
    } else {
      let s: f64 = 0;
      for (let i = 0; i < live; i++) {
        const v = load<i32>(LIVE + (i << 2));
        s += load<f64>(b + (v << 3)) * load<f64>(ROWS + ((v * nx) << 3));
      }
      store<u8>(o, clampByte(s));
    }
  }
}

/** Mixed small sizes (1, 2, 4 per axis): full sums, zeros included (they add exact zeros). */
function smallIdct(coef: usize, quant: usize, nx: i32, ny: i32, out: usize, stride: i32): void {
  const bx = basisOf(nx);
  const by = basisOf(ny);
  for (let v = 0; v < ny; v++) {
    for (let x = 0; x < nx; x++) {
      let s: f64 = 0;
      const b = bx + ((x * nx) << 3);
      for (let u = 0; u < nx; u++) s += load<f64>(b + (u << 3)) * deq(coef, quant, v * 8 + u);
      store<f64>(ROWS + ((v * nx + x) << 3), s);
    }
  }
  for (let y = 0; y < ny; y++) {
    const b = by + ((y * ny) << 3);
    const o = out + y * stride;
    for (let x = 0; x < nx; x++) {
      let s: f64 = 0;
      for (let v = 0; v < ny; v++) s += load<f64>(b + (v << 3)) * load<f64>(ROWS + ((v * nx + x) << 3));
      store<u8>(o + x, clampByte(s));
    }
  }
}

/** 4×4 (chroma at 1/4 with 4:2:0, luma at 1/2): k0·d0 + k1·d1 + k2·d2 + k3·d3, left to right. */
function idct4x4(coef: usize, quant: usize, out: usize, stride: i32): void {
  const t = BASIS_T4;
  const t00 = v128.load(t);
  const t01 = v128.load(t + 16);
  const t10 = v128.load(t + 32);
  const t11 = v128.load(t + 48);
  const t20 = v128.load(t + 64);
  const t21 = v128.load(t + 80);
  const t30 = v128.load(t + 96);
  const t31 = v128.load(t + 112);
  for (let v = 0; v < 4; v++) {
    const k = v * 8;
    const d0 = deq(coef, quant, k);
    const d1 = deq(coef, quant, k + 1);
    const d2 = deq(coef, quant, k + 2);
    const d3 = deq(coef, quant, k + 3);
    const r = ROWS + (v << 5);
    if (d0 === 0 && d1 === 0 && d2 === 0 && d3 === 0) {
      v128.store(r, f64x2.splat(0));
      v128.store(r + 16, f64x2.splat(0));
      continue;
    }
    const s0 = f64x2.splat(d0);
    const s1 = f64x2.splat(d1);
    const s2 = f64x2.splat(d2);
    const s3 = f64x2.splat(d3);
    v128.store(
      r,
      f64x2.add(
        f64x2.add(f64x2.add(f64x2.mul(t00, s0), f64x2.mul(t10, s1)), f64x2.mul(t20, s2)),
        f64x2.mul(t30, s3),
      ),
    );
    v128.store(
      r + 16,
      f64x2.add(
        f64x2.add(f64x2.add(f64x2.mul(t01, s0), f64x2.mul(t11, s1)), f64x2.mul(t21, s2)),
        f64x2.mul(t31, s3),
      ),
    );
  }
  const b = BASIS4;
  for (let y = 0; y < 4; y++) {
    const k0 = f64x2.splat(load<f64>(b + ((y * 4) << 3)));
    const k1 = f64x2.splat(load<f64>(b + ((y * 4 + 1) << 3)));
    const k2 = f64x2.splat(load<f64>(b + ((y * 4 + 2) << 3)));
    const k3 = f64x2.splat(load<f64>(b + ((y * 4 + 3) << 3)));
    const o = out + y * stride;
    for (let x = 0; x < 4; x += 2) {
      const s = f64x2.add(
        f64x2.add(
          f64x2.add(
            f64x2.mul(k0, v128.load(ROWS + (x << 3))),
            f64x2.mul(k1, v128.load(ROWS + ((4 + x) << 3))),
          ),
          f64x2.mul(k2, v128.load(ROWS + ((8 + x) << 3))),
        ),
        f64x2.mul(k3, v128.load(ROWS + ((12 + x) << 3))),
      );
      storePair(o + x, s);
    }
  }
}

/** 2×2 (luma at 1/4), the same order as the TypeScript reference. */
function idct2x2(coef: usize, quant: usize, out: usize, stride: i32): void {
  const d00 = deq(coef, quant, 0);
  const d01 = deq(coef, quant, 1);
  const d10 = deq(coef, quant, 8);
  const d11 = deq(coef, quant, 9);
  const b00 = load<f64>(BASIS2);
  const b01 = load<f64>(BASIS2 + 8);
  const b10 = load<f64>(BASIS2 + 16);
  const b11 = load<f64>(BASIS2 + 24);
  const r00 = b00 * d00 + b01 * d01;
  const r01 = b10 * d00 + b11 * d01;
  const r10 = b00 * d10 + b01 * d11;
  const r11 = b10 * d10 + b11 * d11;
  store<u8>(out, clampByte(b00 * r00 + b01 * r10));
  store<u8>(out + 1, clampByte(b00 * r01 + b01 * r11));
  store<u8>(out + stride, clampByte(b10 * r00 + b11 * r10));
  store<u8>(out + stride + 1, clampByte(b10 * r01 + b11 * r11));
}
