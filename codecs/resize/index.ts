// AssemblyScript entry point of the antialiased triangle resize (built by codecs/resize/build.ts
// into shared/preprocess/resize-triangle.wasm). The host (shared/preprocess/resize-wasm.ts)
// computes the filter taps in float64 exactly as the TypeScript resize does and lays every buffer
// out in this module's memory; these loops are the two passes of resize-triangle.ts with the same
// arithmetic: every output is 0 + w0·x0 + w1·x1 + … in tap order, in float64, rounded once to
// float32. Lanes of an f64x2 hold independent outputs (two channels, or two columns), never parts
// of one sum, so vectorising changes no bit. No fused multiply-add: WebAssembly has none in
// plain SIMD128, which is why the results equal JavaScript's `acc += w * x`.

/** Where the host may start laying out memory (after this module's static data). */
export function heapBase(): usize {
  return __heap_base;
}

/** Three u8 samples at p (and the next byte, unused) as (p[0], p[1]) in an f64x2. */
function lowPair(p: usize): v128 {
  const bytes = v128.load32_zero(p);
  return f64x2.convert_low_i32x4_u(i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(bytes)));
}

/**
 * Horizontal pass for `rows` rows of 8-bit RGB (row stride width·3 bytes) at `src`, into float64
 * rows of outWidth·3 values at `mid`. Taps: i32 start[outWidth], i32 count[outWidth], f64
 * weights[outWidth·maxTaps]. Reads one byte past a row's last pixel (the host pads the band).
 */
export function horizontalRgb(
  src: usize,
  width: i32,
  rows: i32,
  start: usize,
  count: usize,
  weights: usize,
  maxTaps: i32,
  outWidth: i32,
  mid: usize,
): void {
  const rowBytes = <usize>width * 3;
  let m = mid;
  for (let y = 0; y < rows; y++) {
    const row = src + <usize>y * rowBytes;
    for (let ox = 0; ox < outWidth; ox++) {
      const n = load<i32>(count + ((<usize>ox) << 2));
      let w = weights + ((<usize>ox * <usize>maxTaps) << 3);
      let p = row + <usize>load<i32>(start + ((<usize>ox) << 2)) * 3;
      let rg = f64x2.splat(0);
      let b: f64 = 0;
      for (let i = 0; i < n; i++, p += 3, w += 8) {
        const wi = load<f64>(w);
        rg = f64x2.add(rg, f64x2.mul(f64x2.splat(wi), lowPair(p)));
        b += wi * <f64>load<u8>(p, 2);
      }
      v128.store(m, rg);
      store<f64>(m, b, 16);
      m += 24;
    }
  }
}

/**
 * Horizontal pass for 8-bit samples with `channels` per pixel (grey, grey+alpha, RGBA: anything
 * but RGB, which horizontalRgb does), two rows at a time in the two lanes when it can.
 */
export function horizontalAny(
  src: usize,
  width: i32,
  rows: i32,
  channels: i32,
  start: usize,
  count: usize,
  weights: usize,
  maxTaps: i32,
  outWidth: i32,
  mid: usize,
): void {
  const rowBytes = <usize>width * <usize>channels;
  const midRow = <usize>outWidth * <usize>channels;
  let y = 0;
  for (; y + 2 <= rows; y += 2) {
    const row = src + <usize>y * rowBytes;
    const m0 = mid + ((<usize>y * midRow) << 3);
    for (let ox = 0; ox < outWidth; ox++) {
      const n = load<i32>(count + ((<usize>ox) << 2));
      const w0 = weights + ((<usize>ox * <usize>maxTaps) << 3);
      const p0 = row + <usize>load<i32>(start + ((<usize>ox) << 2)) * <usize>channels;
      for (let c = 0; c < channels; c++) {
        let acc = f64x2.splat(0);
        let p = p0 + <usize>c;
        let w = w0;
        for (let i = 0; i < n; i++, p += <usize>channels, w += 8) {
          const pair = i32x4.replace_lane(i32x4.splat(<i32>load<u8>(p)), 1, <i32>load<u8>(p + rowBytes));
          acc = f64x2.add(acc, f64x2.mul(f64x2.splat(load<f64>(w)), f64x2.convert_low_i32x4_u(pair)));
        }
        const at = m0 + ((<usize>ox * <usize>channels + <usize>c) << 3);
        store<f64>(at, f64x2.extract_lane(acc, 0));
        store<f64>(at + (midRow << 3), f64x2.extract_lane(acc, 1));
      }
    }
  }
  for (; y < rows; y++) {
    const row = src + <usize>y * rowBytes;
    const m0 = mid + ((<usize>y * midRow) << 3);
    for (let ox = 0; ox < outWidth; ox++) {
      const n = load<i32>(count + ((<usize>ox) << 2));
      const w0 = weights + ((<usize>ox * <usize>maxTaps) << 3);
      const p0 = row + <usize>load<i32>(start + ((<usize>ox) << 2)) * <usize>channels;
      for (let c = 0; c < channels; c++) {
        let acc: f64 = 0;
        let p = p0 + <usize>c;
        let w = w0;
        for (let i = 0; i < n; i++, p += <usize>channels, w += 8) acc += load<f64>(w) * <f64>load<u8>(p);
        store<f64>(m0 + ((<usize>ox * <usize>channels + <usize>c) << 3), acc);
      }
    }
  }
}

/**
 * Vertical pass: `mid` holds rows of `stride` float64 values; output row oy is the taps' weighted
 * sum of rows start[oy] … in tap order, rounded to float32 into `out` (outHeight × stride).
 */
export function vertical(
  mid: usize,
  stride: i32,
  start: usize,
  count: usize,
  weights: usize,
  maxTaps: i32,
  outHeight: i32,
  out: usize,
): void {
  const rowBytes = (<usize>stride) << 3;
  let o = out;
  for (let oy = 0; oy < outHeight; oy++) {
    const n = load<i32>(count + ((<usize>oy) << 2));
    const w0 = weights + ((<usize>oy * <usize>maxTaps) << 3);
    const r0 = mid + <usize>load<i32>(start + ((<usize>oy) << 2)) * rowBytes;
    let k = 0;
    for (; k + 4 <= stride; k += 4) {
      let a = f64x2.splat(0);
      let b = f64x2.splat(0);
      let r = r0 + ((<usize>k) << 3);
      let w = w0;
      for (let i = 0; i < n; i++, r += rowBytes, w += 8) {
        const wi = f64x2.splat(load<f64>(w));
        a = f64x2.add(a, f64x2.mul(wi, v128.load(r)));
        b = f64x2.add(b, f64x2.mul(wi, v128.load(r, 16)));
      }
      // f32x4.demote_f64x2_zero rounds to nearest like Float32Array's store.
      const lo = f32x4.demote_f64x2_zero(a);
      const hi = f32x4.demote_f64x2_zero(b);
      v128.store(o, i64x2.replace_lane(lo, 1, i64x2.extract_lane(hi, 0)));
      o += 16;
    }
    for (; k < stride; k++) {
      let acc: f64 = 0;
      let r = r0 + ((<usize>k) << 3);
      let w = w0;
      for (let i = 0; i < n; i++, r += rowBytes, w += 8) acc += load<f64>(w) * load<f64>(r);
      store<f32>(o, <f32>acc);
      o += 4;
    }
  }
}

/**
 * RGBA → RGB with alpha composited on white, `pixels` pixels from `src` to `dst` (png.ts's
 * formula in exact integer arithmetic: c' = floor((c·a + 255·(255 − a) + 127) / 255), c when
 * a = 255). Four opaque pixels at a time drop their alpha bytes with one shuffle; `dst` must have
 * 4 bytes of room past its end (each 16-byte store writes 12 bytes of pixels and 4 the next
 * group overwrites).
 */
export function rgbaOnWhite(src: usize, pixels: i32, dst: usize): void {
  let p = 0;
  let s = src;
  let d = dst;
  for (; p + 4 <= pixels; p += 4, s += 16, d += 12) {
    const v = v128.load(s);
    if (i32x4.all_true(i32x4.ge_u(v, i32x4.splat(0xff000000)))) {
      v128.store(d, i8x16.shuffle(v, v, 0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, 15, 15, 15, 15));
    } else {
      for (let k: usize = 0; k < 4; k++) pixelOnWhite(s + (k << 2), d + k * 3);
    }
  }
  for (; p < pixels; p++, s += 4, d += 3) pixelOnWhite(s, d);
}

function pixelOnWhite(s: usize, d: usize): void {
  const a = <u32>load<u8>(s, 3);
  if (a === 255) {
    store<u8>(d, load<u8>(s));
    store<u8>(d, load<u8>(s, 1), 1);
    store<u8>(d, load<u8>(s, 2), 2);
    return;
  }
  const bg = 255 * (255 - a) + 127;
  store<u8>(d, <u8>((<u32>load<u8>(s) * a + bg) / 255));
  store<u8>(d, <u8>((<u32>load<u8>(s, 1) * a + bg) / 255), 1);
  store<u8>(d, <u8>((<u32>load<u8>(s, 2) * a + bg) / 255), 2);
}
