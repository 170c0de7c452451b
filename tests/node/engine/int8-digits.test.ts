/**
 * The digits model's int8 variant end to end on the engine: `train --quantize int8` (runTraining)
 * on the mnist-pretrained small CNN + opencv digits writes model.int8.onnx; the engine runs it on
 * the 300 held-out images as one batch and agrees with onnxruntime-node's run of the same file:
 * every image's top-1, and every probability within one 7-bit step of the probability range.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadKernelModules } from '../../../kernels/node-kernels.ts';
import { createEngineSession } from '../../../shared/engine/index.ts';
import { ModelManifestSchema } from '../../../shared/manifest/manifest.ts';
import { imagesToTensor } from '../../../shared/preprocess/tensor.ts';
import { loadDataset } from '../../../training/datasets/index.ts';
import { runTraining } from '../../../training/train/run.ts';
import { mnistBackbone, tmpDir } from '../train/fixtures.ts';

let backbone: string;
beforeAll(async () => {
  backbone = await mnistBackbone('all');
}, 1_200_000);

const argmax = (row: Float32Array) => row.indexOf(Math.max(...row));

describe('digits int8 variant on the engine', () => {
  it('train --quantize int8, then the engine runs model.int8.onnx like onnxruntime-node', async () => {
    const out = tmpDir('int8-engine-digits');
    const testData = 'opencv-digits:skip-per-class=30:per-class=30';
    await runTraining({
      backbone,
      data: 'opencv-digits:per-class=30',
      testData,
      name: 'digits',
      seed: 3,
      out,
      quantize: 'int8',
      cacheDir: tmpDir('int8-engine-features'),
    });
    const manifest = ModelManifestSchema.parse(
      JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')),
    );
    const variant = manifest.variants?.find((v) => v.kind === 'int8');
    expect(variant?.published, variant?.reason).toBe(true);
    const bytes = new Uint8Array(fs.readFileSync(path.join(out, variant!.file!)));
    const test = await loadDataset(testData, { seed: 3 });
    const p = manifest.preprocess;
    const dims = [test.samples.length, p.channels, p.height, p.width];
    const x = imagesToTensor(
      test.samples.map((s) => s.image),
      p,
    );
    const ref = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
    const want = (await ref.run({ [manifest.input.name]: new ort.Tensor('float32', x, dims) }))[
      manifest.outputs.probabilities
    ]!.data as Float32Array;
    await ref.release();
    const session = await createEngineSession(bytes, loadKernelModules({ relaxed: false }));
    const timings = new Map<string, number>();
    const got = session.runSync({ [manifest.input.name]: { data: x, dims } }, { timings })[
      manifest.outputs.probabilities
    ]!.data;
    expect([...timings.keys()].some((op) => op.startsWith('Q'))).toBe(true);
    const classes = manifest.labels.length;
    let maxDiff = 0;
    let agree = 0;
    for (let i = 0; i < test.samples.length; i++) {
      const a = got.subarray(i * classes, (i + 1) * classes);
      const b = want.subarray(i * classes, (i + 1) * classes);
      if (argmax(a) === argmax(b)) agree++;
      for (let k = 0; k < classes; k++) maxDiff = Math.max(maxDiff, Math.abs(a[k]! - b[k]!));
    }
    console.log(
      `digits int8: engine vs onnxruntime-node top-1 ${agree}/${test.samples.length}, max |Δp| ${maxDiff.toExponential(2)}`,
    );
    expect(agree).toBe(test.samples.length);
    expect(maxDiff).toBeLessThanOrEqual(1 / 127);
  }, 900_000);
});
