// AssemblyScript. Where the decoder's constant tables and scratch live in linear memory. The host
// (shared/preprocess/jpeg/wasm.ts) writes the tables it computes in float64 from Math.cos — the
// same numbers the TypeScript reference uses — starting at `heapBase()`, in this order.

export let ZIGZAG: usize = 0; // 64 u8: zigzag index → natural index
export let BASIS1: usize = 0; // f64[1]   b[x·n + u] for n = 1, 2, 4, 8
export let BASIS2: usize = 0; // f64[4]
export let BASIS4: usize = 0; // f64[16]
export let BASIS8: usize = 0; // f64[64]
export let BASIS_T2: usize = 0; // the same, transposed (u-major)
export let BASIS_T4: usize = 0;
export let BASIS_T8: usize = 0;
export let CR_R: usize = 0; // f64[256] each: 1.402·(i − 128), 0.344136286·(i − 128), …
export let CB_G: usize = 0;
export let CR_G: usize = 0;
export let CB_B: usize = 0;
export let ROWS: usize = 0; // f64[64] scratch of the IDCT's first pass
export let DEQ: usize = 0; // f64[8]
export let LIVE: usize = 0; // i32[8]
export let BLOCK: usize = 0; // i32[64] one block's coefficients, natural order
export let WRITTEN: usize = 0; // i32[64] positions written into BLOCK
export let LAYOUT_END: usize = 0;

/** Lays the tables out from `base` (16-byte aligned); returns where the host may start. */
export function setLayout(base: usize): usize {
  let p = (base + 15) & ~15;
  ZIGZAG = p;
  p += 64;
  BASIS1 = p;
  p += 16;
  BASIS2 = p;
  p += 32;
  BASIS4 = p;
  p += 128;
  BASIS8 = p;
  p += 512;
  BASIS_T2 = p;
  p += 32;
  BASIS_T4 = p;
  p += 128;
  BASIS_T8 = p;
  p += 512;
  CR_R = p;
  p += 2048;
  CB_G = p;
  p += 2048;
  CR_G = p;
  p += 2048;
  CB_B = p;
  p += 2048;
  ROWS = p;
  p += 512;
  DEQ = p;
  p += 64;
  LIVE = p;
  p += 32;
  BLOCK = p;
  p += 256;
  WRITTEN = p;
  p += 256;
  LAYOUT_END = p;
  return p;
}
