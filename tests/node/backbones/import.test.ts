/** Backbone sources: parsing, tfjs model.json on disk, existing .onnx files, and the CLI. */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importBackbone, parseBackboneSource } from '../../../training/backbones/import.ts';
import { saveTfjsLayersModel } from '../../../training/backbones/tfjs-file.ts';
import { nhwcToNchw, randomArray, randomizeWeights, runOnnx, useWasm } from './parity.ts';

const run = promisify(execFile);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgetune-import-'));
let modelJson = '';
let keras: tf.LayersModel;

beforeAll(async () => {
  await useWasm();
  const input = tf.input({ shape: [8, 8, 3] });
  let x = tf.layers
    .conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', name: 'stem' })
    .apply(input) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: 'stem_bn' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.reLU({ name: 'stem_relu' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 3, activation: 'softmax', name: 'probs' }).apply(x) as tf.SymbolicTensor;
  keras = tf.model({ inputs: input, outputs: x });
  randomizeWeights(keras, 9);
  modelJson = await saveTfjsLayersModel(keras, path.join(dir, 'tiny'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('parseBackboneSource', () => {
  it('recognises the source forms', () => {
    expect(parseBackboneSource('nsfwjs:MobileNetV2')).toEqual({ kind: 'nsfwjs', model: 'MobileNetV2' });
    expect(parseBackboneSource('nsfwjs:inceptionv3')).toEqual({ kind: 'nsfwjs', model: 'InceptionV3' });
    expect(parseBackboneSource('tfjs:a/model.json')).toEqual({
      kind: 'tfjs',
      path: path.resolve('a/model.json'),
    });
    expect(parseBackboneSource('b.onnx')).toEqual({ kind: 'onnx', path: path.resolve('b.onnx') });
    expect(parseBackboneSource('onnx:/x/y')).toEqual({ kind: 'onnx', path: '/x/y' });
  });

  it('rejects unknown sources with the accepted forms', () => {
    expect(() => parseBackboneSource('nsfwjs:ResNet50')).toThrow(
      /unknown nsfwjs model 'ResNet50' \(available: MobileNetV2, InceptionV3\)/,
    );
    expect(() => parseBackboneSource('model.h5')).toThrow(/unrecognised backbone source 'model.h5'/);
  });
});

describe('importBackbone', () => {
  it('converts a tfjs model.json from disk, matching tfjs, with the given range and labels', async () => {
    const imported = await importBackbone(`tfjs:${modelJson}`, {
      inputRange: [-1, 1],
      labels: ['a', 'b', 'c'],
    });
    const m = imported.metadata;
    expect(imported.source).toBe(`tfjs:${modelJson}`);
    expect(m.input).toEqual({
      name: 'input',
      shape: ['N', 3, 8, 8],
      layout: 'NCHW',
      dtype: 'float32',
      range: [-1, 1],
    });
    expect(m.labels).toEqual(['a', 'b', 'c']);
    expect(m.preprocess).toMatchObject({ width: 8, height: 8, channels: 3, mean: [0.5], std: [0.5] });
    expect(m.features.map((f) => f.name)).toEqual(['gap']);
    expect(m.outputs).toEqual([{ name: 'probs', shape: ['N', 3], layer: 'probs', kind: 'probabilities' }]);
    // The BN was folded into the conv and its name went to the fused output.
    expect(imported.model.graph?.node?.map((n) => n.output?.[0])).toContain('stem_bn');

    const shape = [4, 8, 8, 3];
    const x = randomArray(4 * 8 * 8 * 3, 3, -1, 1);
    const expected = (keras.predict(tf.tensor(x, shape)) as tf.Tensor).dataSync();
    const out = await runOnnx(imported.bytes, { input: { data: nhwcToNchw(x, shape), dims: [4, 3, 8, 8] } });
    for (let i = 0; i < expected.length; i++)
      expect(Math.abs(out.probs.data[i] - expected[i])).toBeLessThanOrEqual(1e-4);
  });

  it('reads an existing .onnx file with its metadata', async () => {
    const converted = await importBackbone(`tfjs:${modelJson}`);
    const file = path.join(dir, 'tiny.onnx');
    fs.writeFileSync(file, converted.bytes);
    const again = await importBackbone(file);
    expect(again.path).toBe(file);
    expect(again.source).toBe(`tfjs:${modelJson}`);
    expect(again.metadata.input?.range).toBeUndefined();
    expect(again.metadata.outputs[0]?.name).toBe('probs');
  });

  it('reports missing files and graph models clearly', async () => {
    await expect(importBackbone(path.join(dir, 'nope.onnx'))).rejects.toMatchObject({ code: 'not_found' });
    await expect(importBackbone(`tfjs:${path.join(dir, 'nope', 'model.json')}`)).rejects.toMatchObject({
      code: 'not_found',
    });
    const graphDir = path.join(dir, 'graph');
    fs.mkdirSync(graphDir);
    fs.writeFileSync(
      path.join(graphDir, 'model.json'),
      JSON.stringify({ format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [] }),
    );
    const leaky = JSON.parse(fs.readFileSync(modelJson, 'utf8'));
    const reluLayer = (leaky.modelTopology.model_config ?? leaky.modelTopology).config.layers.find(
      (l: { name: string }) => l.name === 'stem_relu',
    );
    reluLayer.config.negative_slope = 0.1;
    fs.writeFileSync(path.join(dir, 'tiny', 'leaky.json'), JSON.stringify(leaky));
    await expect(importBackbone(`tfjs:${path.join(dir, 'tiny', 'leaky.json')}`)).rejects.toThrow(
      "layer 'stem_relu' of class ReLU is not supported: negative_slope=0.1 (tfjs ignores it)",
    );
    await expect(importBackbone(`tfjs:${path.join(graphDir, 'model.json')}`)).rejects.toThrow(
      /graph model; only layers models/,
    );
  });
});

describe('edgetune backbone import (CLI)', () => {
  it('writes the ONNX file and prints JSON; fails with a one-line message on an unsupported layer', async () => {
    const out = path.join(dir, 'cli', 'tiny.onnx');
    const { stdout } = await run(
      process.execPath,
      [
        'bin/edgetune.mjs',
        'backbone',
        'import',
        `tfjs:${modelJson}`,
        '--out',
        out,
        '--input-range',
        '0,1',
        '--json',
      ],
      { cwd: path.resolve(import.meta.dirname, '../../..') },
    );
    const result = JSON.parse(stdout);
    expect(result.out).toBe(out);
    expect(result.bytes).toBe(fs.statSync(out).size);
    expect(result.input.range).toEqual([0, 1]);
    expect(result.features[0].name).toBe('gap');

    const input = tf.input({ shape: [4, 4, 3] });
    const permuted = tf.layers.permute({ dims: [2, 1, 3], name: 'swap' }).apply(input) as tf.SymbolicTensor;
    const bad = await saveTfjsLayersModel(
      tf.model({ inputs: input, outputs: permuted }),
      path.join(dir, 'bad'),
    );
    const failed = await run(
      process.execPath,
      ['bin/edgetune.mjs', 'backbone', 'import', `tfjs:${bad}`, '--out', out],
      {
        cwd: path.resolve(import.meta.dirname, '../../..'),
      },
    ).catch((e: { code: number; stderr: string }) => e);
    expect('code' in failed && failed.code).toBe(1);
    expect('stderr' in failed && failed.stderr).toMatch(
      /edgetune: layer 'swap' of class Permute is not supported/,
    );
  });
});
