import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  buildKernels,
  buildTrainingKernels,
  expandFma,
  KERNEL_OUTPUTS,
  TRAINING_KERNEL_OUTPUT,
} from '../../../kernels/build.ts';

describe('kernel build', () => {
  it('the committed kernel modules are exactly what kernels/kernels.wat assembles to', async () => {
    const built = await buildKernels();
    for (const variant of ['relaxed', 'simd', 'relaxed-node'] as const) {
      const committed = new Uint8Array(readFileSync(KERNEL_OUTPUTS[variant]));
      expect(committed.length, `${variant}: run npm run build:engine`).toBe(built[variant].length);
      expect(Buffer.compare(committed, built[variant]), `${variant}: run npm run build:engine`).toBe(0);
      expect(committed.length).toBeLessThan(200_000);
    }
    // the portable module validates on stock Node 20; the relaxed one needs the V8 flag
    expect(WebAssembly.validate(new Uint8Array(built.simd))).toBe(true);
  });

  it('the committed training kernels are exactly what kernels/training-kernels.wat assembles to', async () => {
    const built = await buildTrainingKernels();
    const committed = new Uint8Array(readFileSync(TRAINING_KERNEL_OUTPUT));
    expect(Buffer.compare(committed, built), 'run npm run build:engine').toBe(0);
    expect(WebAssembly.validate(committed)).toBe(true);
  });

  it('expands nested FMA macros per variant', () => {
    const src = '(FMA (local.get $a) (FMA $x $y $z) (f32x4.splat (f32.const 1)))';
    expect(expandFma(src, 'relaxed')).toBe(
      '(f32x4.relaxed_madd (local.get $a) (f32x4.relaxed_madd $x $y $z) (f32x4.splat (f32.const 1)))',
    );
    expect(expandFma(src, 'simd')).toBe(
      '(f32x4.add (f32x4.mul (local.get $a) (f32x4.add (f32x4.mul $x $y) $z)) (f32x4.splat (f32.const 1)))',
    );
  });
});
