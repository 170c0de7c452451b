import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { loadKernelModules } from '../../../kernels/node-kernels.ts';
import { createEngineSession, supports } from '../../../shared/engine/index.ts';
import { buildArch } from '../../../training/backbones/archs.ts';
import { convertLayersModel } from '../../../training/backbones/convert/index.ts';
import { seededInput } from '../../../shared/onnx/zoo/mobilenetv2.ts';
import { maxAbsDiff, ortRun, relativeDiff } from './helpers.ts';

describe('engine on converter output', () => {
  it('small-cnn and small-sepcnn (tfjs -> ONNX) match onnxruntime-node', async () => {
    await tf.setBackend('cpu');
    for (const arch of ['small-cnn', 'small-sepcnn']) {
      const keras = buildArch(arch, { inputShape: [28, 28, 1], classes: 10, seed: 4 });
      const converted = convertLayersModel(keras, { extraOutputs: ['features'] });
      keras.dispose();
      expect(supports(converted.model), arch).toEqual({ ok: true, unsupported: [], problems: [] });
      const inputName = converted.input.name;
      const x = seededInput(12, 2 * 28 * 28);
      const feeds = { [inputName]: { data: x, dims: [2, 1, 28, 28] } };
      const ref = await ortRun(converted.model, feeds);
      const session = await createEngineSession(converted.model, loadKernelModules({ relaxed: false }));
      const out = session.runSync(feeds);
      for (const o of converted.outputs) {
        const err =
          o.name === converted.outputs[0]!.name
            ? maxAbsDiff(out[o.name]!.data, ref[o.name]!.data)
            : relativeDiff(out[o.name]!.data, ref[o.name]!.data);
        expect(err, `${arch} ${o.name}`).toBeLessThan(1e-4);
      }
    }
  });
});
