/**
 * A conv that reads the model input without computing that input's gradient
 * (training/fit/input-conv.ts) trains exactly as tfjs' own Conv2D: the same outputs and the same
 * filter and bias gradients, bit for bit, on the wasm backend — 1×1 and 3×3, stride 1 and 2,
 * 'same' and 'valid', with and without a bias; and layers it cannot run are left as they are. In
 * a model, only the conv that reads the model input is changed.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildArch } from '../../../training/backbones/archs.ts';
import { skipInputGradient, skipModelInputGradients } from '../../../training/fit/input-conv.ts';
import { initTf } from '../../../training/tf/backend.ts';

beforeAll(async () => {
  await initTf({ backend: 'wasm' });
});

/** Deterministic values in [−1, 1). */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    out[i] = s / 2 ** 30 - 1;
  }
  return out;
}

const cases = [
  { k: 1, stride: 1, pad: 'valid', useBias: true },
  { k: 3, stride: 1, pad: 'same', useBias: true },
  { k: 3, stride: 2, pad: 'same', useBias: false },
  { k: 3, stride: 2, pad: 'valid', useBias: true },
] as const;

describe('skipInputGradient', () => {
  for (const c of cases) {
    it(`${c.k}×${c.k}, stride ${c.stride}, ${c.pad}, ${c.useBias ? 'bias' : 'no bias'}: same values and weight gradients`, () => {
      const shape: [number, number, number, number] = [3, 7, 7, 5];
      const x = tf.tensor4d(values(3 * 7 * 7 * 5, 1), shape);
      const target = tf.tensor(values(3 * 7 * 7 * 8, 2));
      const run = (skip: boolean) => {
        const layer = tf.layers.conv2d({
          filters: 8,
          kernelSize: c.k,
          strides: c.stride,
          padding: c.pad,
          useBias: c.useBias,
        });
        layer.apply(tf.input({ shape: shape.slice(1) }));
        layer.setWeights(
          [tf.tensor(values(c.k * c.k * 5 * 8, 3), [c.k, c.k, 5, 8]), tf.tensor(values(8, 4))].slice(
            0,
            c.useBias ? 2 : 1,
          ),
        );
        if (skip) expect(skipInputGradient(layer)).toBe(true);
        const { value, grads } = tf.variableGrads(
          () => {
            const y = layer.apply(x) as tf.Tensor;
            return tf.sum(tf.mul(y, target.slice(0, y.size).reshape(y.shape)));
          },
          layer.trainableWeights.map((w) => w.read() as tf.Variable),
        );
        const y = layer.apply(x) as tf.Tensor;
        const out = {
          y: y.dataSync(),
          loss: value.dataSync()[0],
          grads: Object.values(grads).map((g) => g.dataSync()),
        };
        layer.dispose();
        return out;
      };
      const plain = run(false);
      const skipped = run(true);
      expect(skipped.grads).toHaveLength(c.useBias ? 2 : 1);
      expect(skipped.y).toEqual(plain.y);
      expect(skipped.loss).toBe(plain.loss);
      expect(skipped.grads).toEqual(plain.grads);
    });
  }

  it('leaves a conv with a fused activation, a dilation or another class as it is', () => {
    const relu = tf.layers.conv2d({ filters: 2, kernelSize: 1, activation: 'relu' });
    const dilated = tf.layers.conv2d({ filters: 2, kernelSize: 3, dilationRate: 2 });
    const depthwise = tf.layers.depthwiseConv2d({ kernelSize: 3 });
    for (const l of [relu, dilated, depthwise]) {
      l.apply(tf.input({ shape: [6, 6, 2] }));
      const call = l.call;
      expect(skipInputGradient(l)).toBe(false);
      expect(l.call).toBe(call);
    }
  });

  it("in a model, changes only the conv that reads the model input (the small CNN's stem)", () => {
    const model = buildArch('small-cnn', { inputShape: [16, 16, 1], classes: 3, seed: 1 });
    const calls = model.layers.map((l) => l.call);
    expect(skipModelInputGradients(model)).toBe(1);
    const changed = model.layers.filter((l, i) => l.call !== calls[i]);
    expect(changed.map((l) => l.getClassName())).toEqual(['Conv2D']);
    expect(changed[0]!.inboundNodes[0]!.inputTensors[0]!.id).toBe(model.inputs[0]!.id);
    model.dispose();
  });
});
