import { describe, expect, it } from 'vitest';
import { getOrt } from '../../functions/runtime/ort.ts';
import { buildReluModel } from '../fixtures/tiny-models.ts';

// onnxruntime-web's wasm backend inside workerd through the imported precompiled module.
describe('onnxruntime-web inside workerd', () => {
  it('creates a session and runs a graph', async () => {
    const ort = await getOrt();
    const session = await ort.InferenceSession.create(buildReluModel(), { executionProviders: ['wasm'] });
    const out = await session.run({
      x: new ort.Tensor('float32', Float32Array.from([-1, 2, -3, 4]), [1, 4]),
    });
    expect(Array.from(out.y!.data as Float32Array)).toEqual([0, 2, 0, 4]);
    await session.release();
  });
});
