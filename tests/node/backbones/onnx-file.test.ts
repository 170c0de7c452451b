/**
 * Preparing foreign ONNX exports as backbones (training/backbones/onnx-file.ts and the graph
 * rewrites in shared/onnx): every rewrite is checked against onnxruntime-node on the original
 * file, every refusal is a one-line message, and the CLI records what it prepared.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PreprocessSpecSchema } from '../../../shared/manifest/preprocess.ts';
import { vectorFeature } from '../../../shared/onnx/backbone-graph.ts';
import { inspectModel } from '../../../shared/onnx/inspect.ts';
import { upgradeOpset } from '../../../shared/onnx/opset-upgrade.ts';
import { decodeModel, type ModelProto } from '../../../shared/onnx/proto.ts';
import { cutAt } from '../../../shared/onnx/surgery.ts';
import { inferShapes } from '../../../shared/onnx/shapes.ts';
import { imageToTensor } from '../../../shared/preprocess/tensor.ts';
import { readBackboneMetadata } from '../../../training/backbones/convert/metadata.ts';
import { prepareOnnxBackbone } from '../../../training/backbones/onnx-file.ts';
import { seededInput } from '../../../shared/onnx/zoo/mobilenetv2.ts';
import { REPO_ROOT, runCli } from '../cli-helper.ts';
import { maxAbsDiff, ortRun } from '../engine/helpers.ts';

const DIR = path.join(REPO_ROOT, 'tests', 'fixtures', 'foreign');
const load = (f: string): ModelProto => decodeModel(new Uint8Array(fs.readFileSync(path.join(DIR, f))));

/** NCHW batch → NHWC batch. */
function toNhwc(x: Float32Array, [n, c, h, w]: number[]): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < n!; b++)
    for (let k = 0; k < c!; k++)
      for (let p = 0; p < h! * w!; p++)
        out[b * c! * h! * w! + p * c! + k] = x[b * c! * h! * w! + k * h! * w! + p]!;
  return out;
}

describe('prepareOnnxBackbone', () => {
  it('keeps every fixture computing what the original computes, at batch 3', async () => {
    for (const [file, size] of [
      ['mobilenet_v2.onnx', undefined],
      ['mobilenet_v3_small.onnx', undefined],
      ['nhwc.onnx', undefined],
      ['opset9.onnx', { height: 64, width: 64 }],
    ] as const) {
      const source = load(file);
      const prepared = prepareOnnxBackbone(source, { preset: 'imagenet', inputSize: size });
      const { width, height } = prepared.preprocess;
      const dims = [3, 3, height, width];
      const x = seededInput(3, 3 * 3 * height * width);
      const got = (await ortRun(prepared.model, { input: { data: x, dims } })).logits!;
      // The original, one image at a time where its batch is fixed at 1, NHWC where it is NHWC.
      const nhwc = file === 'nhwc.onnx';
      const per = 3 * height * width;
      for (let b = 0; b < 3; b++) {
        const one = x.subarray(b * per, (b + 1) * per);
        const feed = nhwc
          ? { data: toNhwc(one, [1, 3, height, width]), dims: [1, height, width, 3] }
          : { data: one, dims: [1, 3, height, width] };
        const ref = (await ortRun(source, { input: feed })).logits!;
        expect(
          maxAbsDiff(got.data.subarray(b * 10, (b + 1) * 10), ref.data),
          `${file} image ${b}`,
        ).toBeLessThan(1e-5);
      }
      expect(prepared.input.shape).toEqual(['N', 3, height, width]);
    }
  });

  it('builds the presets into the preprocessing and picks the input of the final Gemm as the feature', () => {
    const p = prepareOnnxBackbone(load('mobilenet_v2.onnx'), { preset: 'imagenet' });
    expect(p.preprocess).toMatchObject({ width: 96, height: 96, channels: 3, layout: 'NCHW', scale: 1 });
    expect(p.preprocess.mean).toEqual([0.485, 0.456, 0.406]);
    expect(p.preprocess.std).toEqual([0.229, 0.224, 0.225]);
    expect(p.features[0]).toMatchObject({ name: '/Flatten_output_0', shape: ['batch', 1280] });
    expect(p.warnings).toEqual([]);
    const caffe = prepareOnnxBackbone(load('mobilenet_v2.onnx'), { preset: 'caffe', std: [2] });
    expect(caffe.preprocess).toMatchObject({
      scale: 255,
      mean: [103.939, 116.779, 123.68],
      std: [2],
      channelOrder: 'bgr',
    });
    const bare = prepareOnnxBackbone(load('resnet18.onnx'), {});
    expect(bare.warnings[0]).toMatch(/--preprocess imagenet/);
  });

  it('refuses what it cannot know or do, in one line, before any work', () => {
    const cases: [string, Parameters<typeof prepareOnnxBackbone>[1], RegExp][] = [
      ['opset9.onnx', { preset: 'imagenet' }, /dynamic height\/width: pass --input-size HxW/],
      [
        'mobilenet_v2.onnx',
        { inputSize: { height: 64, width: 64 } },
        /does not match input input \[batch, 3, 96, 96\]/,
      ],
      ['mobilenet_v2.onnx', { mean: [0.1, 0.2] }, /--mean has 2 values; the input has 3 channel/],
    ];
    for (const [file, opts, message] of cases) {
      expect(() => prepareOnnxBackbone(load(file), opts)).toThrow(message);
    }
  });
});

describe('opset upgrade', () => {
  it('turns opset 9 Clip attributes into inputs and refuses ops whose meaning changed', async () => {
    const old = load('opset9.onnx');
    const up = upgradeOpset(old);
    expect(up.opsetImport?.find((o) => !o.domain)?.version).toBe(13);
    const clip = up.graph!.node!.find((n) => n.opType === 'Clip')!;
    expect(clip.input).toHaveLength(3);
    expect(clip.attribute).toEqual([]);
    const x = seededInput(5, 2 * 3 * 40 * 48);
    const feeds = { input: { data: x, dims: [2, 3, 40, 48] } };
    expect(maxAbsDiff((await ortRun(up, feeds)).logits!.data, (await ortRun(old, feeds)).logits!.data)).toBe(
      0,
    );
    const upsample: ModelProto = {
      ...old,
      graph: {
        ...old.graph,
        node: [...old.graph!.node!, { opType: 'Upsample', input: ['logits'], output: ['u'] }],
      },
    };
    expect(() => upgradeOpset(upsample)).toThrow(/cannot upgrade this opset-9 graph to opset 13: Upsample/);
  });
});

describe('feature layers', () => {
  it('flattens [C,1,1] and average-pools a spatial map (same values as onnxruntime computes)', async () => {
    const prepared = prepareOnnxBackbone(load('mobilenet_v2.onnx'), { preset: 'imagenet' });
    const shapes = inferShapes(prepared.model);
    const pooled = '/GlobalAveragePool_output_0';
    expect(shapes.get(pooled)?.shape).toEqual(['batch', 1280, 1, 1]);
    // The last [1280, 3, 3] map: the activation the global pool reads.
    const spatial = [...shapes].findLast(([, t]) => t.shape?.join() === 'batch,1280,3,3')![0];
    const x = seededInput(9, 2 * 3 * 96 * 96);
    const feeds = { input: { data: x, dims: [2, 3, 96, 96] } };
    const ref = (await ortRun(cutAt(prepared.model, '/Flatten_output_0'), feeds))['/Flatten_output_0']!;
    for (const t of [pooled, spatial]) {
      const v = vectorFeature(prepared.model, t);
      expect(inferShapes(v.model).get(v.tensor)?.shape).toEqual(['batch', 1280]);
      const got = (await ortRun(cutAt(v.model, v.tensor), feeds))[v.tensor]!;
      expect(maxAbsDiff(got.data, ref.data), t).toBeLessThan(1e-5);
    }
  });
});

describe('shapes and parameters of torch exports', () => {
  it("infers torch's Shape→Gather→Unsqueeze→Concat→Reshape and counts Constant-node weights", () => {
    const nhwc = load('nhwc.onnx');
    expect(inferShapes(nhwc).get('/Reshape_output_0')?.shape).toEqual(['batch', 1280]);
    expect(inspectModel(nhwc).macsUnknown).toEqual([]);
    // The same graph with its initializers moved into Constant nodes has the same parameter count.
    const g = nhwc.graph!;
    const asConstants: ModelProto = {
      ...nhwc,
      graph: {
        ...g,
        initializer: [],
        node: [
          ...(g.initializer ?? []).map((t) => ({
            opType: 'Constant',
            output: [t.name!],
            attribute: [{ name: 'value', type: 4, t }],
          })),
          ...(g.node ?? []),
        ],
      },
    };
    expect(inspectModel(asConstants).parameters).toBe(inspectModel(nhwc).parameters);
    expect(inspectModel(nhwc).parameters).toBeGreaterThan(400_000);
  });
});

describe('BGR preprocessing', () => {
  it('feeds channel c from source channel 2 - c', () => {
    const image = { width: 1, height: 1, channels: 3 as const, data: Uint8Array.of(10, 20, 30) };
    const spec = PreprocessSpecSchema.parse({ width: 1, height: 1, channels: 3, layout: 'NCHW', scale: 255 });
    expect(Array.from(imageToTensor(image, { ...spec, channelOrder: 'bgr' }))).toEqual([30, 20, 10]);
    expect(Array.from(imageToTensor(image, spec))).toEqual([10, 20, 30]);
  });
});

describe('edgetune backbone import / inspect on an ONNX file', () => {
  it('records the preprocessing so train needs no flags; inspect --tensors lists shapes', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgetune-byo-import-'));
    try {
      const out = path.join(dir, 'b.onnx');
      const run = await runCli([
        'backbone',
        'import',
        path.join(DIR, 'opset9.onnx'),
        '--preprocess',
        'inception',
        '--input-size',
        '64x48',
        '--out',
        out,
        '--json',
      ]);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const meta = readBackboneMetadata(decodeModel(new Uint8Array(fs.readFileSync(out))));
      expect(meta.preprocess).toMatchObject({ width: 48, height: 64, scale: 2, mean: [1], std: [1] });
      expect(meta.features[0]?.name).toBe('/Flatten_output_0');
      const bad = await runCli(['backbone', 'import', path.join(DIR, 'opset9.onnx'), '--out', out]);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr.trim().split('\n')).toEqual([
        'edgetune: input input [batch, 3, height, width] has a dynamic height/width: pass --input-size HxW, e.g. 224x224',
      ]);
      const inspect = await runCli([
        'inspect',
        path.join(DIR, 'opset9.onnx'),
        '--tensors',
        '--input-size',
        '64x64',
        '--json',
      ]);
      const summary = JSON.parse(inspect.stdout) as {
        tensors: { name: string; shape: (string | number)[] }[];
      };
      expect(summary.tensors.find((t) => t.name === '/Flatten_output_0')?.shape).toEqual(['batch', 1280]);
      expect(summary.tensors.find((t) => t.name === '/GlobalAveragePool_output_0')?.shape).toEqual([
        'batch',
        1280,
        1,
        1,
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
