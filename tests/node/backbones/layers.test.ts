/**
 * Per-layer parity of the tfjs → ONNX converter: small random tfjs models, predicted by tfjs
 * (wasm backend) and by onnxruntime-node on the same seeded inputs, must agree within 1e-4.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { isEdgetuneError } from '../../../shared/errors.ts';
import { samePadding1d } from '../../../shared/onnx/window.ts';
import { checkParity, randomizeWeights, useWasm } from './parity.ts';

type ST = tf.SymbolicTensor;
type DenseActivation = NonNullable<Parameters<typeof tf.layers.dense>[0]['activation']>;
const TOL = 1e-4;

function ap(layer: tf.layers.Layer, x: ST | ST[]): ST {
  return layer.apply(x) as ST;
}

/** A functional model on one input of `shape` (without batch), with seeded random weights. */
function model(shape: number[], build: (x: ST) => ST | ST[], seed = 11): tf.LayersModel {
  const input = tf.input({ shape });
  const m = tf.model({ inputs: input, outputs: build(input) });
  randomizeWeights(m, seed);
  return m;
}

async function expectParity(m: tf.LayersModel, batch = 2): Promise<number[]> {
  const r = await checkParity(m, batch);
  for (const d of r.maxAbs) expect(d).toBeLessThanOrEqual(TOL);
  // Guard against vacuous agreement (e.g. everything zero).
  expect(r.expected.some((e) => e.some((v) => Math.abs(v) > 1e-3))).toBe(true);
  return r.maxAbs;
}

beforeAll(async () => {
  await useWasm();
});

describe('TF "same" padding', () => {
  it('puts the odd pixel at the end, like TensorFlow', () => {
    expect(samePadding1d(7, 3, 2, 1)).toEqual([1, 1]);
    expect(samePadding1d(8, 3, 2, 1)).toEqual([0, 1]);
    expect(samePadding1d(224, 3, 2, 1)).toEqual([0, 1]);
    expect(samePadding1d(9, 4, 1, 1)).toEqual([1, 2]);
    expect(samePadding1d(9, 3, 1, 2)).toEqual([2, 2]);
    expect(samePadding1d(5, 1, 2, 1)).toEqual([0, 0]);
  });
});

describe('convolutions', () => {
  for (const [padding, strides, kernelSize, size] of [
    ['same', 1, 3, [8, 8]],
    ['same', 2, 3, [9, 7]],
    ['same', 2, 4, [11, 10]],
    ['valid', 2, 3, [9, 7]],
    ['same', 3, 5, [13, 8]],
  ] as const) {
    it(`Conv2D ${padding} stride ${strides} kernel ${kernelSize} on ${size.join('x')}`, async () => {
      await expectParity(
        model([size[0], size[1], 3], (x) =>
          ap(tf.layers.conv2d({ filters: 5, kernelSize, strides, padding }), x),
        ),
      );
    });
  }

  it('Conv2D with dilation, no bias and an activation in its config', async () => {
    await expectParity(
      model([10, 9, 2], (x) =>
        ap(
          tf.layers.conv2d({
            filters: 4,
            kernelSize: 3,
            dilationRate: 2,
            padding: 'same',
            useBias: false,
            activation: 'elu',
          }),
          x,
        ),
      ),
    );
  });

  it('DepthwiseConv2D same/stride 2/odd size/multiplier 2 with relu6', async () => {
    await expectParity(
      model([9, 11, 3], (x) =>
        ap(
          tf.layers.depthwiseConv2d({
            kernelSize: 3,
            strides: 2,
            padding: 'same',
            depthMultiplier: 2,
            activation: 'relu6',
          }),
          x,
        ),
      ),
    );
  });

  it('DepthwiseConv2D valid', async () => {
    await expectParity(
      model([7, 7, 4], (x) => ap(tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'valid' }), x)),
    );
  });

  it('SeparableConv2D same stride 2 multiplier 2, then a folded BatchNormalization', async () => {
    const m = model([9, 9, 3], (x) => {
      const y = ap(
        tf.layers.separableConv2d({
          filters: 6,
          kernelSize: 3,
          strides: 2,
          padding: 'same',
          depthMultiplier: 2,
        }),
        x,
      );
      return ap(tf.layers.batchNormalization({}), y);
    });
    const r = await checkParity(m, 2);
    expect(r.maxAbs[0]).toBeLessThanOrEqual(TOL);
    const ops = r.converted.model.graph?.node?.map((n) => n.opType);
    expect(ops).not.toContain('BatchNormalization');
    expect(ops?.filter((o) => o === 'Conv')).toHaveLength(2);
  });
});

describe('BatchNormalization', () => {
  it('is folded into the conv it follows (MobileNet pattern: pad, conv, BN, ReLU(6))', async () => {
    const m = model([9, 9, 3], (x) => {
      let y = ap(
        tf.layers.zeroPadding2d({
          padding: [
            [0, 1],
            [0, 1],
          ],
        }),
        x,
      );
      y = ap(
        tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'valid', useBias: false }),
        y,
      );
      y = ap(tf.layers.batchNormalization({ epsilon: 1e-3 }), y);
      return ap(tf.layers.reLU({ maxValue: 6 }), y);
    });
    const r = await checkParity(m, 3);
    expect(r.maxAbs[0]).toBeLessThanOrEqual(TOL);
    const ops = r.converted.model.graph?.node?.map((n) => n.opType);
    expect(ops).toEqual(['Pad', 'Conv', 'Clip']);
  });

  it('stays a BatchNormalization when the conv output is also read elsewhere, or after Add / Dense', async () => {
    const m = model([6, 6, 4], (x) => {
      const c = ap(tf.layers.conv2d({ filters: 4, kernelSize: 1 }), x);
      const bn = ap(tf.layers.batchNormalization({ scale: false }), c);
      const sum = ap(tf.layers.add(), [c, bn]);
      const bn2 = ap(tf.layers.batchNormalization({ center: false }), sum);
      const flat = ap(tf.layers.flatten(), bn2);
      const d = ap(tf.layers.dense({ units: 5 }), flat);
      return ap(tf.layers.batchNormalization({}), d);
    });
    const r = await checkParity(m, 2);
    expect(r.maxAbs[0]).toBeLessThanOrEqual(TOL);
    const ops = r.converted.model.graph?.node?.map((n) => n.opType) ?? [];
    expect(ops.filter((o) => o === 'BatchNormalization')).toHaveLength(3);
  });
});

describe('Dense and activations', () => {
  const activations: DenseActivation[] = [
    'linear',
    'relu',
    'relu6',
    'elu',
    'selu',
    'sigmoid',
    'hardSigmoid',
    'softplus',
    'softsign',
    'tanh',
    'softmax',
    'swish',
    'mish',
    'gelu',
    'gelu_new',
  ];
  for (const activation of activations) {
    it(`Dense with activation ${activation}`, async () => {
      await expectParity(
        model([6], (x) =>
          ap(tf.layers.dense({ units: 7, activation }), ap(tf.layers.dense({ units: 5 }), x)),
        ),
        4,
      );
    });
  }

  it('Dense on a rank-4 tensor (last axis) with softmax, and without bias', async () => {
    await expectParity(
      model([4, 5, 3], (x) => {
        const y = ap(tf.layers.dense({ units: 6, activation: 'softmax' }), x);
        return ap(tf.layers.dense({ units: 2, useBias: false }), y);
      }),
    );
  });

  it('Activation, ReLU (with and without max_value), LeakyReLU, ELU, ThresholdedReLU, PReLU, Softmax layers', async () => {
    await expectParity(
      model([5, 6, 4], (x) => {
        const a = ap(tf.layers.activation({ activation: 'tanh' }), x);
        const b = ap(tf.layers.reLU({ maxValue: 0.3 }), x);
        const c = ap(tf.layers.leakyReLU({ alpha: 0.2 }), x);
        const d = ap(tf.layers.elu({}), x);
        const e = ap(tf.layers.thresholdedReLU({ theta: 0.1 }), x);
        const f = ap(tf.layers.reLU({}), x);
        const g = ap(tf.layers.prelu({}), x);
        const h = ap(tf.layers.softmax({ axis: -1 }), x);
        return ap(tf.layers.concatenate({ axis: -1 }), [a, b, c, d, e, f, g, h]);
      }),
    );
  });
});

describe('pooling', () => {
  for (const [cls, padding, pool, strides, size] of [
    ['max', 'same', 3, 2, [9, 7]],
    ['max', 'valid', 3, 2, [9, 8]],
    ['avg', 'same', 3, 1, [7, 7]],
    ['avg', 'same', 3, 2, [9, 6]],
    ['avg', 'valid', 2, 2, [8, 7]],
  ] as const) {
    it(`${cls} pooling ${padding} ${pool}x${pool} stride ${strides} on ${size.join('x')}`, async () => {
      const make = cls === 'max' ? tf.layers.maxPooling2d : tf.layers.averagePooling2d;
      await expectParity(
        model([size[0], size[1], 3], (x) =>
          ap(
            make({ poolSize: pool, strides, padding }),
            ap(tf.layers.conv2d({ filters: 3, kernelSize: 1 }), x),
          ),
        ),
      );
    });
  }

  it('GlobalAveragePooling2D and GlobalMaxPooling2D', async () => {
    await expectParity(
      model([5, 7, 6], (x) =>
        ap(tf.layers.concatenate({}), [
          ap(tf.layers.globalAveragePooling2d({}), x),
          ap(tf.layers.globalMaxPooling2d({}), x),
        ]),
      ),
    );
  });
});

describe('shape layers', () => {
  it('Flatten of a spatial map keeps the NHWC element order the next Dense was trained on', async () => {
    const m = model([5, 4, 3], (x) =>
      ap(
        tf.layers.dense({ units: 6 }),
        ap(tf.layers.flatten(), ap(tf.layers.conv2d({ filters: 4, kernelSize: 2 }), x)),
      ),
    );
    const r = await checkParity(m, 3);
    expect(r.maxAbs[0]).toBeLessThanOrEqual(TOL);
    expect(r.converted.model.graph?.node?.map((n) => n.opType)).toContain('Transpose');
  });

  it('Reshape rank 4 → rank 3 → Dense, and rank 2 → rank 4 → Conv2D', async () => {
    await expectParity(
      model([4, 4, 3], (x) => {
        const seq = ap(tf.layers.reshape({ targetShape: [16, 3] }), x);
        const d = ap(tf.layers.dense({ units: 4 }), seq);
        const flat = ap(tf.layers.flatten(), d);
        const back = ap(tf.layers.reshape({ targetShape: [4, 2, 8] }), flat);
        return ap(tf.layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same' }), back);
      }),
    );
  });

  it('ZeroPadding2D (asymmetric), Cropping2D, UpSampling2D nearest and bilinear', async () => {
    await expectParity(
      model([5, 6, 2], (x) => {
        const p = ap(
          tf.layers.zeroPadding2d({
            padding: [
              [1, 2],
              [0, 3],
            ],
          }),
          x,
        );
        const c = ap(
          tf.layers.cropping2D({
            cropping: [
              [2, 0],
              [1, 2],
            ],
          }),
          p,
        );
        const n = ap(tf.layers.upSampling2d({ size: [2, 3] }), c);
        const b = ap(tf.layers.upSampling2d({ size: [2, 3], interpolation: 'bilinear' }), c);
        return ap(tf.layers.concatenate({}), [n, b]);
      }),
    );
  });
});

describe('merge layers', () => {
  it('Add (2 and 3 inputs), Multiply, Average, Maximum, Minimum', async () => {
    await expectParity(
      model([6, 5, 4], (x) => {
        const a = ap(tf.layers.conv2d({ filters: 4, kernelSize: 1 }), x);
        const b = ap(tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same' }), x);
        const sum3 = ap(tf.layers.add(), [x, a, b]);
        const prod = ap(tf.layers.multiply(), [sum3, a]);
        const avg = ap(tf.layers.average(), [prod, b, x]);
        const mx = ap(tf.layers.maximum(), [avg, a]);
        const mn = ap(tf.layers.minimum(), [mx, b]);
        return ap(tf.layers.add(), [mn, x]);
      }),
    );
  });

  it('Concatenate along channels, height and width, and on rank 2', async () => {
    await expectParity(
      model([4, 4, 3], (x) => {
        const a = ap(tf.layers.conv2d({ filters: 2, kernelSize: 1 }), x);
        const ch = ap(tf.layers.concatenate({ axis: -1 }), [x, a]);
        const h = ap(tf.layers.concatenate({ axis: 1 }), [ch, ch]);
        const w = ap(tf.layers.concatenate({ axis: 2 }), [
          h,
          ap(tf.layers.conv2d({ filters: 5, kernelSize: 1 }), h),
        ]);
        const g = ap(tf.layers.globalAveragePooling2d({}), w);
        return ap(tf.layers.concatenate({ axis: 1 }), [g, ap(tf.layers.dense({ units: 3 }), g)]);
      }),
    );
  });

  it('Subtract (a Keras layer tfjs lacks, registered here as a custom class)', async () => {
    class Subtract extends tf.layers.Layer {
      static className = 'Subtract';
      override computeOutputShape(shapes: tf.Shape[]): tf.Shape {
        return shapes[0];
      }
      override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
        const [a, b] = inputs as tf.Tensor[];
        return tf.sub(a, b);
      }
    }
    await expectParity(
      model([3, 3, 2], (x) =>
        ap(new Subtract({}), [ap(tf.layers.conv2d({ filters: 2, kernelSize: 1 }), x), x]),
      ),
    );
  });
});

describe('model structure', () => {
  it('Rescaling, Dropout as identity, and a Dropout as the model output', async () => {
    await expectParity(
      model([4, 4, 3], (x) => {
        const r = ap(tf.layers.rescaling({ scale: 1 / 127.5, offset: -1 }), x);
        const c = ap(
          tf.layers.conv2d({ filters: 3, kernelSize: 3 }),
          ap(tf.layers.dropout({ rate: 0.5 }), r),
        );
        return ap(tf.layers.dropout({ rate: 0.3 }), c);
      }),
    );
  });

  it('a Sequential model and a model with two outputs', async () => {
    const seq = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [6, 6, 1], filters: 3, kernelSize: 3, activation: 'relu' }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 4, activation: 'softmax' }),
      ],
    });
    randomizeWeights(seq, 5);
    await expectParity(seq);
    const two = model([5, 5, 2], (x) => {
      const c = ap(tf.layers.conv2d({ filters: 3, kernelSize: 3 }), x);
      return [ap(tf.layers.globalAveragePooling2d({}), c), c];
    });
    const maxAbs = await expectParity(two);
    expect(maxAbs).toHaveLength(2);
  });

  it('rejects an unsupported layer naming the layer and its class', async () => {
    const m = model([4, 4, 3], (x) => ap(tf.layers.permute({ dims: [2, 1, 3], name: 'swap_hw' }), x));
    const err = await checkParity(m, 1).catch((e: unknown) => e);
    expect(isEdgetuneError(err)).toBe(true);
    expect((err as Error).message).toBe("layer 'swap_hw' of class Permute is not supported");
    expect((err as { code: string }).code).toBe('unsupported');
  });
});
