// AssemblyScript. JFIF YCbCr → RGB of shared/preprocess/jpeg/decode.ts: floor(v + 0.5) clamped to
// 0..255 with R = Y + 1.402·(Cr − 128), G = Y − 0.344136286·(Cb − 128) − 0.714136286·(Cr − 128),
// B = Y + 1.772·(Cb − 128), in float64 and in that order. The products are the host's tables
// (layout.ts) in the scalar path and the same multiplications, two pixels per f64x2, in the
// vector one: the same doubles either way.

import { CB_B, CB_G, CR_G, CR_R } from './layout';

function clampByte(v: f64): u8 {
  const p = Math.floor(v + 0.5);
  return <u8>(p < 0 ? 0 : p > 255 ? 255 : <i32>p);
}

function pixel(yy: i32, cb: i32, cr: i32, o: usize): void {
  const y = <f64>yy;
  store<u8>(o, clampByte(y + load<f64>(CR_R + (cr << 3))));
  store<u8>(o + 1, clampByte(y - load<f64>(CB_G + (cb << 3)) - load<f64>(CR_G + (cr << 3))));
  store<u8>(o + 2, clampByte(y + load<f64>(CB_B + (cb << 3))));
}

/** Two samples at p (u8) as f64x2. */
function pair(p: usize): v128 {
  return f64x2.convert_low_i32x4_u(
    i32x4.replace_lane(i32x4.splat(<i32>load<u8>(p)), 1, <i32>load<u8>(p + 1)),
  );
}

/** floor(v + 0.5) clamped to 0..255, two lanes as i32. */
function round2(v: v128): v128 {
  const f = f64x2.floor(f64x2.add(v, f64x2.splat(0.5)));
  return i32x4.min_s(i32x4.max_s(i32x4.trunc_sat_f64x2_s_zero(f), i32x4.splat(0)), i32x4.splat(255));
}

/** Two pixels of planes already at output resolution. */
function pixels2(ry: usize, rb: usize, rr: usize, o: usize): void {
  const y = pair(ry);
  const cb = f64x2.sub(pair(rb), f64x2.splat(128));
  const cr = f64x2.sub(pair(rr), f64x2.splat(128));
  const r = round2(f64x2.add(y, f64x2.mul(f64x2.splat(1.402), cr)));
  const g = round2(
    f64x2.sub(f64x2.sub(y, f64x2.mul(f64x2.splat(0.344136286), cb)), f64x2.mul(f64x2.splat(0.714136286), cr)),
  );
  const b = round2(f64x2.add(y, f64x2.mul(f64x2.splat(1.772), cb)));
  store<u8>(o, <u8>i32x4.extract_lane(r, 0));
  store<u8>(o + 1, <u8>i32x4.extract_lane(g, 0));
  store<u8>(o + 2, <u8>i32x4.extract_lane(b, 0));
  store<u8>(o + 3, <u8>i32x4.extract_lane(r, 1));
  store<u8>(o + 4, <u8>i32x4.extract_lane(g, 1));
  store<u8>(o + 5, <u8>i32x4.extract_lane(b, 1));
}

/**
 * Planes → interleaved RGB, width × height at `out`. `xs`: i32[3·width] sample column of each
 * component per output x; `ys`: i32[3·height] row offset (row · stride) per output y. When the
 * IDCT already produced every plane at output resolution (shrink-on-load) the column maps are
 * the identity (`identity`) and rows are converted two pixels at a time.
 */
export function yccToRgb(
  py: usize,
  pb: usize,
  pr: usize,
  xs: usize,
  ys: usize,
  width: i32,
  height: i32,
  out: usize,
  identity: bool,
): void {
  let o = out;
  const xb = xs + ((<usize>width) << 2);
  const xr = xb + ((<usize>width) << 2);
  const yb = ys + ((<usize>height) << 2);
  const yr = yb + ((<usize>height) << 2);
  for (let y = 0; y < height; y++) {
    const ry = py + <usize>load<i32>(ys + (y << 2));
    const rb = pb + <usize>load<i32>(yb + (y << 2));
    const rr = pr + <usize>load<i32>(yr + (y << 2));
    if (identity) {
      let x = 0;
      for (; x + 2 <= width; x += 2) {
        pixels2(ry + x, rb + x, rr + x, o);
        o += 6;
      }
      for (; x < width; x++) {
        pixel(load<u8>(ry + x), load<u8>(rb + x), load<u8>(rr + x), o);
        o += 3;
      }
      continue;
    }
    for (let x = 0; x < width; x++) {
      const k = x << 2;
      pixel(
        load<u8>(ry + load<i32>(xs + k)),
        load<u8>(rb + load<i32>(xb + k)),
        load<u8>(rr + load<i32>(xr + k)),
        o,
      );
      o += 3;
    }
  }
}
