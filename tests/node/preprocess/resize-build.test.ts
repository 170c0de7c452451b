import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildResizeKernels, RESIZE_KERNEL_OUTPUT } from '../../../codecs/resize/build.ts';

describe('resize kernel build', () => {
  it('the committed resize-triangle.wasm is exactly what codecs/resize/ compiles to', async () => {
    const built = await buildResizeKernels();
    const committed = new Uint8Array(readFileSync(RESIZE_KERNEL_OUTPUT));
    expect(committed.length, 'run npm run build:resize').toBe(built.length);
    expect(Buffer.compare(committed, built), 'run npm run build:resize').toBe(0);
    // plain SIMD128 (no relaxed SIMD, no threads): validates on stock Node 20 and in workerd
    expect(WebAssembly.validate(new Uint8Array(built))).toBe(true);
    expect(committed.length).toBeLessThan(16_000);
  }, 120_000);
});
