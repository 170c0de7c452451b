// AssemblyScript. JFIF YCbCr → RGB of shared/preprocess/jpeg/decode.ts (yccToRgb): the products
// come from the host's float64 tables, so every pixel has the reference's bits.

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

/**
 * Planes → interleaved RGB, width × height at `out`. `xs`: i32[3·width] sample column of each
 * component per output x; `ys`: i32[3·height] row offset (row · stride) per output y. When the
 * IDCT already produced every plane at output resolution (shrink-on-load) both maps are the
 * identity and `identity` takes the straight path.
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
      for (let x = 0; x < width; x++) {
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
