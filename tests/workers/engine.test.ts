/**
 * The engine inside workerd: kernels imported as precompiled modules (no run-time compilation),
 * the relaxed-SIMD variant chosen, outputs equal to onnxruntime-node's (computed in Node by the
 * global setup) on MobileNetV2 + head and on the edge fixtures' small CNN.
 */
import { inject } from 'vitest';
import { describe, expect, it } from 'vitest';
import relaxedKernels from '../../shared/engine/kernels-relaxed.wasm';
import simdKernels from '../../shared/engine/kernels-simd.wasm';
import { createEngineSession } from '../../shared/engine/index.ts';
import { ModelManifestSchema } from '../../shared/manifest/manifest.ts';
import { mobileNetV2WithHead, seededInput } from '../../shared/onnx/zoo/mobilenetv2.ts';
import './engine-reference.ts';
import { fixtures, fromBase64 } from './fixtures.ts';

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

function relativeDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(b[i]!));
  return maxAbsDiff(a, b) / m;
}

describe('engine in workerd', () => {
  it('MobileNetV2-224 + head: both kernel variants match onnxruntime-node', async () => {
    const ref = inject('engineReference');
    const model = mobileNetV2WithHead({ seed: ref.seed });
    const input = { data: seededInput(ref.inputSeed, 3 * 224 * 224), dims: [1, 3, 224, 224] };
    const relaxed = await createEngineSession(model, { relaxed: relaxedKernels, simd: simdKernels });
    expect(relaxed.variant).toBe('relaxed');
    const simd = await createEngineSession(model, { simd: simdKernels });
    expect(simd.variant).toBe('simd');
    for (const session of [relaxed, simd]) {
      const out = await session.run({ input });
      expect(maxAbsDiff(out.probabilities!.data, ref.probabilities), session.variant).toBeLessThan(1e-4);
      expect(relativeDiff(out.features!.data, ref.features), session.variant).toBeLessThan(1e-4);
    }
    // fits the 128 MB isolate with room to spare
    expect(relaxed.heapBytes).toBeLessThan(40 * 2 ** 20);
  });

  it('the edge fixtures (small CNN exports) match their onnxruntime-node references', async () => {
    const fx = fixtures();
    const kernels = { relaxed: relaxedKernels, simd: simdKernels };
    for (const [i, exp] of fx.exports.entries()) {
      const manifest = ModelManifestSchema.parse(exp.manifest);
      const session = await createEngineSession(fromBase64(exp.files[manifest.model.file]!), kernels);
      const data = Float32Array.from(fx.tensor.data);
      const dims = [1, 3, Math.sqrt(data.length / 3), Math.sqrt(data.length / 3)];
      const out = await session.run({ [manifest.input.name]: { data, dims } });
      const ref = fx.references[i]![fx.tensor.imageId]!;
      expect(maxAbsDiff(out[manifest.outputs.probabilities]!.data, ref.probabilities)).toBeLessThan(1e-4);
      expect(relativeDiff(out[manifest.outputs.embedding]!.data, ref.embedding)).toBeLessThan(1e-4);
    }
  });
});
