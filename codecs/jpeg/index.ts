// AssemblyScript entry point of edgetune's JPEG decoder kernels (built by codecs/jpeg/build.ts
// into shared/preprocess/jpeg/jpeg.wasm). The host keeps the marker parsing and the rare paths in
// TypeScript and calls these for the hot loops: sequential entropy decoding + dequantisation +
// scaled IDCT straight into the component planes, the IDCT of progressive coefficients, and the
// YCbCr → RGB conversion.

import { isDcOnly, inverseDct } from './idct';
import { BLOCK } from './layout';

export { setLayout } from './layout';
export { decodeSequential } from './scan';
export { yccToRgb } from './colour';

/** Where the host may start laying out memory (after this module's static data). */
export function heapBase(): usize {
  return __heap_base;
}

/**
 * The IDCT of a whole component plane from accumulated i16 coefficients (progressive JPEGs):
 * blocksPerColumn × blocksPerLine blocks of 64 in natural order at `coef`.
 */
export function idctPlane(
  coef: usize,
  quant: usize,
  blocksPerLine: i32,
  blocksPerColumn: i32,
  nx: i32,
  ny: i32,
  plane: usize,
  stride: i32,
): void {
  for (let row = 0; row < blocksPerColumn; row++) {
    for (let col = 0; col < blocksPerLine; col++) {
      const at = coef + ((<usize>(row * blocksPerLine + col)) << 7);
      for (let k = 0; k < 64; k++) store<i32>(BLOCK + (k << 2), <i32>load<i16>(at + (k << 1)));
      const out = plane + <usize>(row * ny * stride + col * nx);
      inverseDct(BLOCK, quant, nx, ny, out, stride, isDcOnly(BLOCK, nx, ny));
    }
  }
  memory.fill(BLOCK, 0, 256);
}
