/**
 * The search's activations: every candidate layer and fine-tuning boundary from ONE onnxruntime
 * session, equal to what a separate pass per boundary (the training path, extract.ts) computes,
 * written to the same feature-cache entries, and read back without a session the second time.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { vectorFeature } from '../../../shared/onnx/backbone-graph.ts';
import { encodeModel } from '../../../shared/onnx/proto.ts';
import { inferShapes } from '../../../shared/onnx/shapes.ts';
import { cutAt } from '../../../shared/onnx/surgery.ts';
import { loadDataset } from '../../../training/datasets/index.ts';
import type { Sample } from '../../../training/datasets/types.ts';
import { extractFeatures, featureCounters } from '../../../training/features/extract.ts';
import { channelsLastShape, chwToHwc } from '../../../training/features/layout.ts';
import { earlierCutPoints } from '../../../training/select/candidates.ts';
import { candidateInputs } from '../../../training/select/inputs.ts';
import { initTf } from '../../../training/tf/backend.ts';
import { resolveBackbone, type TrainBackbone } from '../../../training/train/backbone.ts';
import { planFreeze } from '../../../training/train/plan.ts';
import { silentProgress } from '../../../training/train/progress.ts';
import { quickBackbone } from '../train/scale-fixtures.ts';

const tmp = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `edgetune-select-${name}-`));

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('candidate activations in one pass', () => {
  let source: string;
  let samples: Sample[];
  beforeAll(async () => {
    await initTf({ backend: 'wasm' });
    source = await quickBackbone();
    samples = (await loadDataset('opencv-digits:per-class=3', { seed: 1, cwd: process.cwd() })).samples;
  }, 900_000);

  it('match a separate pass per boundary, share its cache entries, and need no session the second time', async () => {
    const backbone: TrainBackbone = await resolveBackbone(source);
    const feature = backbone.metadata.features[0]!.name;
    const layers = [feature, ...earlierCutPoints(backbone.model, feature)];
    expect(layers).toHaveLength(3);
    const cacheDir = tmp('one-pass');
    const ctx = { backbone, samples, cacheDir, progress: silentProgress };
    const before = featureCounters.sessions;
    const inputs = await candidateInputs(ctx, layers, undefined, [1, 2]);
    expect(featureCounters.sessions - before).toBe(1);
    expect([...inputs.keys()].sort()).toEqual(
      ['depth:1', 'depth:2', ...layers.map((l) => `layer:${l}`)].sort(),
    );

    // The reference: one extraction per boundary, as the training path runs it, in its own cache.
    const reference = await resolveBackbone(source);
    const refDir = tmp('per-boundary');
    const extract = (model: typeof reference.model, boundary: string, itemDims: number[]) =>
      extractFeatures(
        {
          bytes: () => encodeModel(cutAt(model, boundary)),
          backboneSha256: reference.sha256,
          boundary,
          itemDims,
          preprocess: reference.preprocess,
        },
        samples,
        { cacheDir: refDir },
      );
    for (const layer of layers) {
      const v = vectorFeature(reference.model, layer);
      const dims = inferShapes(v.model).get(v.tensor)!.shape!.slice(1) as number[];
      const ref = await extract(v.model, v.tensor, dims);
      const got = inputs.get(`layer:${layer}`)!;
      expect(got.itemShape).toEqual(dims);
      expect(got.x.length).toBe(samples.length * dims.reduce((a, b) => a * b, 1));
      expect(maxAbsDiff(got.x, ref.data)).toBeLessThanOrEqual(1e-5);
    }
    for (const depth of [1, 2]) {
      const plan = await planFreeze(reference, undefined, depth);
      const ref = await extract(reference.model, plan.boundary, plan.boundaryDims);
      const got = inputs.get(`depth:${depth}`)!;
      expect(got.itemShape).toEqual(channelsLastShape(plan.boundaryDims));
      expect(got.keras?.nodes.length).toBeGreaterThan(0);
      expect(maxAbsDiff(got.x, chwToHwc(ref.data, plan.boundaryDims))).toBeLessThanOrEqual(1e-5);
    }

    // The one pass wrote what the training path reads: a per-boundary extraction over its cache
    // runs nothing.
    const runs = featureCounters.prefixRuns;
    const v = vectorFeature(reference.model, layers[1]!);
    const dims = inferShapes(v.model).get(v.tensor)!.shape!.slice(1) as number[];
    const hit = await extractFeatures(
      {
        bytes: () => encodeModel(cutAt(v.model, v.tensor)),
        backboneSha256: reference.sha256,
        boundary: v.tensor,
        itemDims: dims,
        preprocess: reference.preprocess,
      },
      samples,
      { cacheDir },
    );
    expect(hit.stats.computed).toBe(0);
    expect(maxAbsDiff(hit.data, inputs.get(`layer:${layers[1]}`)!.x)).toBe(0);

    // A second search over the same images: everything from the cache, no session.
    const sessions = featureCounters.sessions;
    const again = await candidateInputs(
      { ...ctx, backbone: await resolveBackbone(source) },
      layers,
      undefined,
      [1, 2],
    );
    expect(featureCounters.sessions).toBe(sessions);
    expect(featureCounters.prefixRuns).toBe(runs);
    for (const [key, input] of inputs) expect(maxAbsDiff(again.get(key)!.x, input!.x)).toBe(0);
  }, 900_000);
});
