/**
 * The three runtimes behind the one `InferenceRunner` interface: the same model and input give
 * the same outputs on each, and the shared batching loop means the same thing on each.
 */
import { describe, expect, it } from 'vitest';
import { loadKernelModules } from '../../../kernels/node-kernels.ts';
import { runBatched } from '../../../shared/inference/batched.ts';
import { createCheckedEngineRunner } from '../../../shared/inference/engine-runner.ts';
import { ENGINE_IDS, ENGINES, engineIdOf } from '../../../shared/inference/engines.ts';
import { createOrtWebRunner } from '../../../shared/inference/ort-web-runner.ts';
import type { InferenceRunner } from '../../../shared/inference/runner.ts';
import { GraphBuilder } from '../../../shared/onnx/builder.ts';
import { encodeModel } from '../../../shared/onnx/proto.ts';
import { mobileNetV2WithHead, seededInput } from '../../../shared/onnx/zoo/mobilenetv2.ts';
import { createOrtNodeRunner } from '../../../training/inference/ort-node-runner.ts';
import { getOrtWeb } from '../../../training/optimize/web-runtime.ts';
import { maxAbsDiff, relativeDiff } from '../engine/helpers.ts';

const SIDE = 64;
const bytes = encodeModel(mobileNetV2WithHead({ seed: 11, width: 0.35, resolution: SIDE, batch: 'N' }));
const item = [3, SIDE, SIDE];
const x = seededInput(12, 3 * 3 * SIDE * SIDE); // three images

async function runners(): Promise<InferenceRunner[]> {
  return [
    await createOrtNodeRunner(bytes, { device: 'cpu', threads: 1 }),
    await createOrtWebRunner(await getOrtWeb(), bytes, false),
    await createCheckedEngineRunner(bytes, loadKernelModules({ relaxed: false })),
  ];
}

describe('InferenceRunner: onnxruntime-node, onnxruntime-web and the engine behind one interface', () => {
  it('name themselves from the one vocabulary and agree on the same batch', async () => {
    const all = await runners();
    try {
      expect(all.map((r) => r.engine)).toEqual([ENGINES.ortNode, ENGINES.ortWeb, ENGINES.wasm]);
      expect(all.map((r) => engineIdOf(r.engine))).toEqual([
        ENGINE_IDS.onnxruntime,
        ENGINE_IDS.onnxruntime,
        ENGINE_IDS.wasm,
      ]);
      const outs = [];
      for (const r of all) {
        expect(r.inputNames).toEqual(['input']);
        expect(r.outputNames).toEqual(expect.arrayContaining(['probabilities', 'features']));
        expect(r.heapBytes()).toBeGreaterThan(0);
        const out = await r.run('input', x, [3, ...item]);
        expect(out.probabilities!.dims).toEqual([3, 5]);
        outs.push(out);
      }
      const [ref, ...others] = outs;
      for (const o of others) {
        expect(maxAbsDiff(o.probabilities!.data, ref!.probabilities!.data)).toBeLessThan(1e-4);
        expect(relativeDiff(o.features!.data, ref!.features!.data)).toBeLessThan(1e-4);
      }
    } finally {
      for (const r of all) await r.release();
    }
  });

  it('runBatched gives every item the same answer whatever the batch size, on every runtime', async () => {
    const all = await runners();
    try {
      const size = item.reduce((a, b) => a * b, 1);
      const fill = (i: number, out: Float32Array, offset: number) =>
        out.set(x.subarray(i * size, (i + 1) * size), offset);
      for (const r of all) {
        const whole = (await r.run('input', x, [3, ...item])).probabilities!.data;
        const got = new Float32Array(15);
        const batches: number[] = [];
        await runBatched(
          r,
          3,
          item,
          fill,
          (start, n, outputs) => {
            batches.push(n);
            got.set(outputs.probabilities!, start * 5);
          },
          { batchSize: 2, outputs: ['probabilities'] },
        );
        expect(batches, r.engine).toEqual([2, 1]);
        expect(maxAbsDiff(got, whole), r.engine).toBeLessThan(1e-5);
      }
    } finally {
      for (const r of all) await r.release();
    }
  });

  it('the engine runner refuses a graph with an op the engine lacks as unsupported (the edge then falls back)', async () => {
    const g = new GraphBuilder({ name: 'sine' });
    g.input('x', [1, 4]);
    g.node('Sin', ['x'], ['y'], {}, { name: 'sine' });
    g.output('y', [1, 4]);
    const refused = createCheckedEngineRunner(encodeModel(g.build()), loadKernelModules({ relaxed: false }));
    await expect(refused).rejects.toMatchObject({
      code: 'unsupported',
      message: expect.stringContaining('Sin'),
    });
  });
});
