import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildJpegKernels, JPEG_KERNEL_OUTPUT } from '../../../codecs/jpeg/build.ts';

describe('JPEG kernel build', () => {
  it('the committed jpeg.wasm is exactly what codecs/jpeg/ compiles to', async () => {
    const built = await buildJpegKernels();
    const committed = new Uint8Array(readFileSync(JPEG_KERNEL_OUTPUT));
    expect(committed.length, 'run npm run build:jpeg').toBe(built.length);
    expect(Buffer.compare(committed, built), 'run npm run build:jpeg').toBe(0);
    // plain SIMD128 (no relaxed SIMD, no threads): validates on stock Node 20 and in workerd
    expect(WebAssembly.validate(new Uint8Array(built))).toBe(true);
    expect(committed.length).toBeLessThan(64_000);
  }, 120_000);
});
