/**
 * Acceptance: the bundled nsfwjs MobileNetV2, converted to ONNX and run in onnxruntime-node,
 * matches the tfjs model on 16 random inputs (probabilities max |Δ| ≤ 1e-4, 1280-d embedding
 * ≤ 1e-3 relative). InceptionV3 runs only with EDGETUNE_SLOW=1.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importBackbone } from '../../../training/backbones/import.ts';
import {
  convertNsfwjsModel,
  loadNsfwjsModel,
  NSFWJS_MODELS,
  type NsfwjsModelName,
  nsfwjsLabels,
} from '../../../training/backbones/nsfwjs.ts';
import { nhwcToNchw, randomArray, runOnnx, useWasm } from './parity.ts';

const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgetune-backbones-'));

beforeAll(async () => {
  process.env.EDGETUNE_CACHE_DIR = cacheDir;
  await useWasm();
});
afterAll(() => {
  fs.rmSync(cacheDir, { recursive: true, force: true });
});

interface Comparison {
  maxAbsProb: number;
  /** max over samples of ||Δe|| / ||e||. */
  relEmbedding: number;
  /** max |Δe| / max |e|. */
  relMaxEmbedding: number;
  probs: Float32Array;
}

async function compare(name: NsfwjsModelName, n: number, seed: number): Promise<Comparison> {
  const keras = await loadNsfwjsModel(name);
  try {
    const size = NSFWJS_MODELS[name].size;
    const shape = [n, size, size, 3];
    const x = randomArray(n * size * size * 3, seed, 0, 1);
    const both = tf.model({
      inputs: keras.inputs,
      outputs: [keras.outputs[0], keras.getLayer('flatten_1').output as tf.SymbolicTensor],
    });
    const xt = tf.tensor(x, shape);
    const [p, e] = both.predict(xt) as tf.Tensor[];
    const probs = p.dataSync() as Float32Array;
    const emb = e.dataSync() as Float32Array;
    tf.dispose([xt, p, e]);

    const converted = convertNsfwjsModel(keras, name, undefined, ['flatten_1']);
    const out = await runOnnx(converted.bytes, {
      input: { data: nhwcToNchw(x, shape), dims: [n, 3, size, size] },
    });
    const gotP = out.dense_3.data;
    const gotE = out.flatten_1.data;
    expect(out.dense_3.dims).toEqual([n, 5]);
    expect(gotE.length).toBe(emb.length);

    let maxAbsProb = 0;
    for (let i = 0; i < probs.length; i++) maxAbsProb = Math.max(maxAbsProb, Math.abs(probs[i] - gotP[i]));
    const dim = emb.length / n;
    let relEmbedding = 0;
    let maxDelta = 0;
    let maxE = 0;
    for (let b = 0; b < n; b++) {
      let num = 0;
      let den = 0;
      for (let i = b * dim; i < (b + 1) * dim; i++) {
        const d = emb[i] - gotE[i];
        num += d * d;
        den += emb[i] * emb[i];
        maxDelta = Math.max(maxDelta, Math.abs(d));
        maxE = Math.max(maxE, Math.abs(emb[i]));
      }
      relEmbedding = Math.max(relEmbedding, Math.sqrt(num / den));
    }
    return { maxAbsProb, relEmbedding, relMaxEmbedding: maxDelta / maxE, probs };
  } finally {
    keras.dispose();
  }
}

describe('nsfwjs MobileNetV2', () => {
  it('matches tfjs on 16 random inputs: probabilities ≤ 1e-4, embedding ≤ 1e-3 relative', async () => {
    const r = await compare('MobileNetV2', 16, 2024);
    console.log(
      `MobileNetV2 parity: max|Δp| ${r.maxAbsProb.toExponential(2)}, embedding rel ${r.relEmbedding.toExponential(2)}`,
    );
    expect(r.maxAbsProb).toBeLessThanOrEqual(1e-4);
    expect(r.relEmbedding).toBeLessThanOrEqual(1e-3);
    expect(r.relMaxEmbedding).toBeLessThanOrEqual(1e-3);
    // Real probabilities: rows sum to 1 and not every row is one-hot.
    for (let b = 0; b < 16; b++) {
      const row = Array.from(r.probs.slice(b * 5, b * 5 + 5));
      expect(row.reduce((a, v) => a + v, 0)).toBeCloseTo(1, 5);
    }
    expect(Math.min(...Array.from(r.probs))).toBeGreaterThan(0);
  });

  it('is converted once, cached under backbones/, and carries its metadata', async () => {
    const first = await importBackbone('nsfwjs:MobileNetV2');
    expect(first.cached).toBe(false);
    expect(first.path).toMatch(/backbones[/\\]nsfwjs-mobilenet_v2-[0-9a-f]{16}\.onnx$/);
    expect(first.path?.startsWith(cacheDir)).toBe(true);
    const second = await importBackbone('nsfwjs:mobilenetv2');
    expect(second.cached).toBe(true);
    // (toEqual on 10 MB typed arrays exhausts the heap; compare bytes directly.)
    expect(Buffer.compare(Buffer.from(second.bytes), Buffer.from(first.bytes))).toBe(0);

    const m = second.metadata;
    expect(m.source).toBe('nsfwjs:MobileNetV2@4.4.0');
    expect(m.input).toEqual({
      name: 'input',
      shape: ['N', 3, 224, 224],
      layout: 'NCHW',
      dtype: 'float32',
      range: [0, 1],
    });
    expect(m.labels).toEqual(['Drawing', 'Hentai', 'Neutral', 'Porn', 'Sexy']);
    expect(nsfwjsLabels()).toEqual(m.labels);
    expect(m.outputs).toEqual([
      { name: 'dense_3', shape: ['N', 5], layer: 'dense_3', kind: 'probabilities' },
    ]);
    expect(m.features[0]).toEqual({
      name: 'flatten_1',
      layer: 'flatten_1',
      shape: ['N', 1280],
      kind: 'pooled',
    });
    expect(m.preprocess).toMatchObject({
      width: 224,
      height: 224,
      channels: 3,
      layout: 'NCHW',
      mean: [0],
      std: [1],
    });

    // The cached file predicts what a fresh conversion predicts, on a zero image too.
    const zeros = new Float32Array(3 * 224 * 224);
    const out = await runOnnx(second.bytes, { input: { data: zeros, dims: [1, 3, 224, 224] } });
    const keras = await loadNsfwjsModel('MobileNetV2');
    const expected = (keras.predict(tf.zeros([1, 224, 224, 3])) as tf.Tensor).dataSync();
    keras.dispose();
    for (let i = 0; i < 5; i++) expect(Math.abs(out.dense_3.data[i] - expected[i])).toBeLessThanOrEqual(1e-4);
  });
});

describe.runIf(process.env.EDGETUNE_SLOW === '1')('nsfwjs InceptionV3 (EDGETUNE_SLOW=1)', () => {
  it('matches tfjs on 4 random inputs', async () => {
    const r = await compare('InceptionV3', 4, 7);
    console.log(
      `InceptionV3 parity: max|Δp| ${r.maxAbsProb.toExponential(2)}, embedding rel ${r.relEmbedding.toExponential(2)}`,
    );
    expect(r.maxAbsProb).toBeLessThanOrEqual(1e-4);
    expect(r.relEmbedding).toBeLessThanOrEqual(1e-3);
  });
});
