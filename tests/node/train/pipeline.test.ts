/**
 * The transfer pipeline end to end on small data (mnist-pretrained backbone → OpenCV digits):
 * export contents, feature caching (counters), the parity gate refusing a broken export, the
 * freeze boundary with --trainable, publishing, and the building blocks' numbers.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { ModelManifestSchema } from '../../../shared/manifest/manifest.ts';
import { decodeModel, onnx } from '../../../shared/onnx/proto.ts';
import { readTensorFloat32 } from '../../../shared/onnx/tensor.ts';
import { imageToTensor } from '../../../shared/preprocess/tensor.ts';
import { loadDataset } from '../../../training/datasets/index.ts';
import { evaluatePredictions } from '../../../training/evaluate/metrics.ts';
import { featureCounters } from '../../../training/features/extract.ts';
import { parseHeadSpec } from '../../../training/fit/head.ts';
import { seededDropout, trainLoop } from '../../../training/fit/loop.ts';
import { buildTrainable } from '../../../training/fit/suffix.ts';
import { openStore } from '../../../shared/store/node/open.ts';
import { initTf } from '../../../training/tf/backend.ts';
import * as tf from '@tensorflow/tfjs';
import { resolveBackbone } from '../../../training/train/backbone.ts';
import { planFreeze } from '../../../training/train/plan.ts';
import { runTraining } from '../../../training/train/run.ts';
import { mnistBackbone, tmpDir } from './fixtures.ts';

let backbone: string;
const data = 'opencv-digits:per-class=10';
const testData = 'opencv-digits:skip-per-class=10:per-class=30';

beforeAll(async () => {
  await initTf({ backend: 'wasm' });
  backbone = await mnistBackbone('all');
}, 900_000);

describe('building blocks', () => {
  it('evaluatePredictions: accuracy, per-class P/R/F1 and the confusion matrix', () => {
    // 4 samples, 2 classes: true [0,0,1,1], predicted [0,1,1,1].
    const probs = Float32Array.from([0.9, 0.1, 0.4, 0.6, 0.2, 0.8, 0.3, 0.7]);
    const ev = evaluatePredictions(probs, [0, 0, 1, 1], ['a', 'b']);
    expect(ev.accuracy).toBe(0.75);
    expect(ev.confusion).toEqual([
      [1, 1],
      [0, 2],
    ]);
    expect(ev.perClass[0]).toMatchObject({ precision: 1, recall: 0.5, support: 2 });
    expect(ev.perClass[1]!.precision).toBeCloseTo(2 / 3, 10);
    expect(ev.perClass[1]!.f1).toBeCloseTo(0.8, 10);
    expect(ev.loss).toBeCloseTo(-(Math.log(0.9) + Math.log(0.4) + Math.log(0.8) + Math.log(0.7)) / 4, 6);
  });

  it('head specs parse and bad ones are refused', () => {
    expect(parseHeadSpec(undefined)).toEqual({ dropout: 0.2, hidden: 0 });
    expect(parseHeadSpec('hidden=64,dropout=0.4')).toEqual({ dropout: 0.4, hidden: 64 });
    expect(() => parseHeadSpec('dropout=2')).toThrow(/--head/);
    expect(() => parseHeadSpec('width=3')).toThrow(/--head/);
    expect(parseHeadSpec(' logistic ')).toEqual({ dropout: 0, hidden: 0, logistic: true });
    expect(() => parseHeadSpec('logistic,dropout=0.2')).toThrow(/or "logistic"/);
  });

  it('freeze boundary: frozen = feature layer; --trainable N = latest cut with N convs after it, from the tfjs model or the plain ONNX graph', async () => {
    const b = await resolveBackbone(backbone);
    const frozen = await planFreeze(b, undefined, 0);
    expect(frozen).toMatchObject({
      boundary: 'features',
      featureTensor: 'features',
      boundaryDims: [96],
      trainableConvs: 0,
    });
    const one = await planFreeze(b, undefined, 1);
    expect(one.trainableConvs).toBe(1);
    expect(one.boundary).toBe('block3_pool');
    expect(one.boundaryDims).toEqual([64, 3, 3]);
    one.keras?.model.dispose();
    const two = await planFreeze(b, undefined, 2);
    expect(two.trainableConvs).toBe(2);
    expect(two.boundary).toBe('block2_pool');
    two.keras?.model.dispose();
    await expect(planFreeze(b, undefined, 9)).rejects.toThrow(/no cut point with 9 conv layers/);
    await expect(planFreeze(b, undefined, 'block3_conv')).rejects.toThrow(/no such layer|not a valid/);

    const plain = path.join(tmpDir('plain'), 'b.onnx');
    fs.copyFileSync(backbone, plain);
    const pb = await resolveBackbone(plain);
    // Without the tfjs model beside it, the layers after the cut are converted from the ONNX graph.
    const plainOne = await planFreeze(pb, undefined, 1);
    expect(plainOne).toMatchObject({ boundary: 'block3_pool', boundaryDims: [64, 3, 3], trainableConvs: 1 });
    expect(plainOne.keras?.nodes.map((n) => n.outboundLayer.getClassName())).toEqual([
      'Conv2D',
      'ReLU',
      'GlobalAveragePooling2D',
    ]);
    plainOne.keras?.model.dispose();
    await expect(planFreeze(pb, 'nope', 0)).rejects.toThrow(/not a tensor/);
  });
});

describe('trainable part', () => {
  it('rebuilt suffix (BN folded) matches the backbone before training, and training leaks no tensors', async () => {
    const b = await resolveBackbone(backbone);
    const plan = await planFreeze(b, undefined, 2);
    const keras = plan.keras!;
    const parts = buildTrainable({
      nodes: keras.nodes,
      boundary: keras.boundary,
      inputShape: keras.inputShape,
      classes: 3,
      head: { dropout: 0.3, hidden: 16 },
      seed: 5,
    });
    expect(parts.foldedBatchNorms).toBe(2);
    expect(parts.model.layers.some((l) => l.getClassName() === 'BatchNormalization')).toBe(false);
    // The folded suffix computes what the original layers compute (inference mode).
    const original = tf.model({
      inputs: keras.model.inputs,
      outputs: keras.model.getLayer('features').output,
    });
    const x = tf.randomUniform([4, 28, 28, 1], 0, 1, 'float32', 7);
    const cut = tf.model({ inputs: keras.model.inputs, outputs: keras.boundary });
    const atBoundary = cut.predict(x) as tf.Tensor;
    const viaSuffix = parts.featureModel!.predict(atBoundary) as tf.Tensor;
    const direct = original.predict(x) as tf.Tensor;
    const diff = tf.max(tf.abs(tf.sub(viaSuffix, direct))).dataSync()[0]!;
    expect(diff).toBeLessThan(1e-4);
    tf.dispose([x, atBoundary, viaSuffix, direct]);
    keras.model.dispose();

    const n = 40;
    const size = keras.inputShape.reduce((a, c) => a * c, 1);
    const data = {
      x: Float32Array.from({ length: n * size }, (_, i) => ((i * 7919) % 101) / 101),
      y: Int32Array.from({ length: n }, (_, i) => i % 3),
      itemShape: keras.inputShape,
    };
    const forward = (xs: tf.Tensor, training: boolean, rng: () => number) => {
      let f = parts.featureModel!.apply(xs, { training: false }) as tf.Tensor;
      if (training) f = seededDropout(f, 0.3, rng);
      f = parts.hidden!.apply(f) as tf.Tensor;
      return parts.output.apply(f) as tf.Tensor2D;
    };
    const before = tf.memory().numTensors;
    const perEpoch: number[] = [];
    const r = await trainLoop({
      phase: 'fine-tune',
      forward,
      variables: [...parts.suffixVariables, ...parts.headVariables],
      model: parts.model,
      train: data,
      val: data,
      classes: 3,
      epochs: 4,
      batchSize: 8,
      lr: 1e-3,
      patience: 10,
      seed: 1,
      onEpoch: () => perEpoch.push(tf.memory().numTensors),
    });
    expect(r.epochs).toHaveLength(4);
    // Only the best-epoch snapshot may differ between epochs; nothing grows per step.
    expect(new Set(perEpoch.slice(1)).size).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
    parts.model.dispose();
  });
});

describe('runTraining', () => {
  it('exports one ONNX (probabilities + embedding), manifest, metrics, report; a second run does no prefix inference', async () => {
    const cacheDir = tmpDir('features');
    const out = tmpDir('run1');
    const opts = { backbone, data, testData, name: 'digits', seed: 3, cacheDir };
    const first = await runTraining({ ...opts, out });
    const n = first.counts.train + first.counts.val + first.counts.test;
    expect(first.counts).toEqual({ train: 80, val: 20, test: 300, heldOut: 300, classes: 10 });
    expect(first.features).toMatchObject({ computed: n, cacheHits: 0 });
    expect(first.features.prefixRuns).toBeGreaterThan(0);
    expect(first.accuracy).toBeGreaterThan(0.85);
    expect(first.parity.maxAbsDiff).toBeLessThanOrEqual(1e-4);
    expect(first.parity.samples).toBe(20 + 64);

    const before = { ...featureCounters };
    const out2 = tmpDir('run2');
    const second = await runTraining({ ...opts, out: out2 });
    expect(second.features).toMatchObject({ computed: 0, prefixRuns: 0, cacheHits: n });
    expect(featureCounters.prefixRuns).toBe(before.prefixRuns);
    expect(featureCounters.sessions).toBe(before.sessions);
    // Same seed, same cached activations: the same model.
    expect(second.accuracy).toBe(first.accuracy);
    console.log(
      `features: first run ${first.timings.features}s (computed ${n}), second ${second.timings.features}s (all cached); ` +
        `accuracy ${first.accuracy}`,
    );

    // The export.
    const manifest = ModelManifestSchema.parse(
      JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')),
    );
    expect(manifest).toMatchObject({
      name: 'digits',
      labels: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
      outputs: { probabilities: 'probabilities', embedding: 'embedding', embeddingDim: 96 },
      preprocess: { width: 28, height: 28, channels: 1, layout: 'NCHW' },
      backbone: { featureTensor: 'features' },
    });
    expect(manifest.metrics.accuracy).toBe(first.accuracy);
    const bytes = fs.readFileSync(path.join(out, 'model.onnx'));
    expect(manifest.model.size).toBe(bytes.length);
    const session = await ort.InferenceSession.create(bytes);
    expect(session.outputNames).toEqual(['probabilities', 'embedding']);
    const ds = await loadDataset(testData, { seed: 3 });
    const x = imageToTensor(ds.samples[0]!.image, manifest.preprocess);
    const r = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', x, [1, 1, 28, 28]) });
    expect(r.probabilities!.dims).toEqual([1, 10]);
    expect(r.embedding!.dims).toEqual([1, 96]);
    const p = r.probabilities!.data as Float32Array;
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    await session.release();

    const metrics = JSON.parse(fs.readFileSync(path.join(out, 'metrics.json'), 'utf8'));
    expect(metrics.transfer.confusion.flat().reduce((a: number, b: number) => a + b, 0)).toBe(300);
    expect(metrics.transfer.perClass).toHaveLength(10);
    const html = fs.readFileSync(path.join(out, 'report.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('polyline');
    expect(html.match(/src="data:image\/png;base64,/g)?.length).toBe(48);
    expect(html).toContain('Confusion matrix');
  });

  it('the parity gate refuses a broken export: nothing written, nothing published', async () => {
    const out = path.join(tmpDir('broken'), 'export');
    const storeDir = tmpDir('store');
    const perturb = (m: onnx.ModelProto): onnx.ModelProto => {
      const inits = m.graph!.initializer!;
      const i = inits.findIndex((t) => t.name?.startsWith('head/') && t.name.endsWith('bias'));
      expect(i).toBeGreaterThanOrEqual(0);
      const values = readTensorFloat32(inits[i]!);
      values[0]! += 0.5;
      const raw = new Uint8Array(values.buffer);
      const copy = [...inits];
      copy[i] = { ...inits[i]!, rawData: raw, floatData: [] };
      return onnx.ModelProto.create({ ...m, graph: { ...m.graph, initializer: copy } });
    };
    await expect(
      runTraining({
        backbone,
        data,
        name: 'broken',
        seed: 3,
        out,
        store: `file://${storeDir}`,
        tamperExport: perturb,
      }),
    ).rejects.toMatchObject({
      code: 'parity_failed',
      message: expect.stringMatching(/parity gate failed.*nothing was written/),
    });
    expect(fs.existsSync(path.join(out, 'model.onnx'))).toBe(false);
    expect(fs.existsSync(path.join(out, 'manifest.json'))).toBe(false);
    expect(await openStore(`file://${storeDir}`).list('models/')).toMatchObject({ objects: [] });
  });

  it('--trainable 1 re-trains the last conv (BN folded) and publishes through the registry', async () => {
    const storeDir = tmpDir('store');
    const out = tmpDir('run-ft');
    const r = await runTraining({
      backbone,
      data,
      testData,
      name: 'digits-ft',
      seed: 3,
      trainable: 1,
      fineTuneEpochs: 4,
      out,
      store: `file://${storeDir}`,
    });
    expect(r.plan).toMatchObject({ boundary: 'block3_pool', trainableConvs: 1, embeddingDim: 96 });
    expect(r.transfer.history.filter((h) => h.phase === 'fine-tune').length).toBeGreaterThan(0);
    expect(r.parity.maxAbsDiff).toBeLessThanOrEqual(1e-4);
    expect(r.accuracy).toBeGreaterThan(0.85);
    expect(r.version).toBe('v1');
    const store = openStore(`file://${storeDir}`);
    const stored = await store.get('models/digits-ft/versions/v1/manifest.json');
    expect(stored).not.toBeNull();
    // The exported graph starts with the backbone's own prefix nodes, untouched.
    const model = decodeModel(new Uint8Array(fs.readFileSync(r.files.model)));
    const names = (model.graph?.node ?? []).map((n) => n.name ?? '');
    expect(names.some((n) => n.startsWith('head/block4'))).toBe(true);
    expect(names.some((n) => n.startsWith('block1'))).toBe(true);
  });
});
