/**
 * buildArch's `reduceInput` (what the scratch CNN uses above 32 px): an average pool of the input
 * and a stride-2 first conv, so the blocks work at a quarter of the side; the result converts to
 * ONNX with the same outputs as tfjs and runs on the edge engine. Without it the network is the
 * one small-cnn describes.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadKernelModules } from '../../../kernels/node-kernels.ts';
import { createEngineSession, supports } from '../../../shared/engine/index.ts';
import { buildArch } from '../../../training/backbones/archs.ts';
import { maxAbsDiff } from '../engine/helpers.ts';
import { checkParity, nhwcToNchw, randomArray, randomizeWeights, useWasm } from './parity.ts';

beforeAll(useWasm);

describe('reduceInput', () => {
  it('works its blocks at a quarter of the side and keeps the embedding', () => {
    const plain = buildArch('small-cnn', { inputShape: [64, 64, 3], classes: 5, seed: 2 });
    const reduced = buildArch('small-cnn', {
      inputShape: [64, 64, 3],
      classes: 5,
      seed: 2,
      reduceInput: true,
    });
    expect(plain.getLayer('block2_conv').outputShape).toEqual([null, 32, 32, 48]);
    expect(reduced.getLayer('block1_conv').outputShape).toEqual([null, 16, 16, 32]);
    expect(reduced.getLayer('block2_conv').outputShape).toEqual([null, 8, 8, 48]);
    expect(reduced.getLayer('features').outputShape).toEqual([null, 96]);
    // The same weights: only the geometry changes.
    expect(reduced.countParams()).toBe(plain.countParams());
    expect(() => plain.getLayer('input_pool')).toThrow();
    plain.dispose();
    reduced.dispose();
    expect(() =>
      buildArch('small-cnn', { inputShape: [16, 16, 3], classes: 5, seed: 2, reduceInput: true }),
    ).toThrow(/at least 32×32/);
  });

  it('converts to ONNX with the outputs tfjs computes, and the engine runs it', async () => {
    const model = buildArch('small-cnn', { inputShape: [64, 64, 3], classes: 5, seed: 3, reduceInput: true });
    randomizeWeights(model, 9);
    const { converted, maxAbs, expected } = await checkParity(model, 2, {
      extraOutputs: ['features'],
      lo: 0,
      hi: 1,
    });
    model.dispose();
    for (const m of maxAbs) expect(m).toBeLessThan(1e-4);
    expect(supports(converted.model)).toEqual({ ok: true, unsupported: [], problems: [] });
    const x = nhwcToNchw(randomArray(2 * 64 * 64 * 3, 1, 0, 1), [2, 64, 64, 3]);
    const session = await createEngineSession(converted.model, loadKernelModules({ relaxed: false }));
    const out = session.runSync({ [converted.input.name]: { data: x, dims: [2, 3, 64, 64] } });
    expect(maxAbsDiff(out[converted.outputs[0]!.name]!.data, expected[0]!)).toBeLessThan(1e-4);
  });
});
