/**
 * `--backbone nsfwjs:MobileNetV2` end to end on a folder of photo crops of sizes other than 224
 * (resized by the shared preprocessing): the exported ONNX is the converted MobileNetV2 prefix +
 * the trained head, 1280-d embedding, parity-checked on raw images, then published and served by
 * the real Worker in workerd, which must answer like the Node pipeline for the same image bytes.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { ModelManifestSchema } from '../../../shared/manifest/manifest.ts';
import { preprocessBytes } from '../../../shared/preprocess/preprocess.ts';
import { startLocalEdge } from '../../../local-edge/local-edge.ts';
import { openStore } from '../../../shared/store/node/open.ts';
import { initTf } from '../../../training/tf/backend.ts';
import { runTraining } from '../../../training/train/run.ts';
import { photoFolder, ROOT, tmpDir } from './fixtures.ts';

describe('nsfwjs:MobileNetV2 backbone on a folder of photos', () => {
  beforeAll(async () => {
    await initTf({ backend: 'wasm' });
  });

  it('trains a head on resized crops, exports probabilities + 1280-d embedding, passes parity, serves at the edge', async () => {
    const dir = photoFolder(6);
    const out = tmpDir('nsfwjs');
    const storeUrl = `file://${tmpDir('nsfwjs-store')}`;
    const r = await runTraining({
      backbone: 'nsfwjs:MobileNetV2',
      data: `folder:${dir}`,
      valSplit: 0.34,
      name: 'cat-or-coffee',
      seed: 1,
      out,
      cacheDir: tmpDir('nsfwjs-features'),
      store: storeUrl,
    });
    expect(r.version).toBe('v1');
    expect(r.warnings.join('\n')).toMatch(/different sizes.*resized/);
    expect(r.counts).toMatchObject({ train: 8, val: 4, classes: 2 });
    expect(r.plan).toMatchObject({ embeddingDim: 1280, trainableConvs: 0 });
    expect(r.parity.maxAbsDiff).toBeLessThanOrEqual(1e-4);
    expect(r.accuracy).toBeGreaterThanOrEqual(0.75);
    console.log(
      `nsfwjs: val accuracy ${r.accuracy}, features ${r.timings.features}s, total ${r.timings.total}s`,
    );

    const manifest = ModelManifestSchema.parse(JSON.parse(fs.readFileSync(r.files.manifest, 'utf8')));
    expect(manifest.preprocess).toMatchObject({ width: 224, height: 224, channels: 3, layout: 'NCHW' });
    expect(manifest.labels).toEqual(['cat', 'coffee']);
    // The edge may run the fast engine and the offline-optimised graph: both were verified at export.
    expect(manifest.engines).toEqual(['onnxruntime', 'edgetune-wasm']);
    expect(manifest.optimized?.file).toBe('model.opt.onnx');
    expect(fs.statSync(path.join(r.outDir, 'model.opt.onnx')).size).toBe(manifest.optimized?.size);
    // What the edge does: encoded bytes → shared preprocessing → the exported model.
    const session = await ort.InferenceSession.create(fs.readFileSync(r.files.model));
    const png = new Uint8Array(fs.readFileSync(path.join(dir, 'cat', 'cat-0.png')));
    const input = preprocessBytes(png, manifest.preprocess);
    const res = await session.run({
      [manifest.input.name]: new ort.Tensor('float32', input.data, input.dims),
    });
    expect(res.embedding!.dims).toEqual([1, 1280]);
    const p = res.probabilities!.data as Float32Array;
    expect(p.length).toBe(2);
    expect(p[0]! + p[1]!).toBeCloseTo(1, 5);
    await session.release();
    expect(fs.statSync(r.files.model).size).toBeGreaterThan(8_000_000);
    void ROOT;

    // The same bytes through the Worker (workerd, local R2 mirrored from the store).
    const edge = await startLocalEdge(openStore(storeUrl), {
      port: 0,
      persistDir: tmpDir('nsfwjs-r2'),
      syncIntervalMs: 0,
    });
    try {
      const reply = await fetch(new URL('/v1/models/cat-or-coffee/classify?top_k=2', edge.url), {
        method: 'POST',
        headers: { 'content-type': 'image/png' },
        body: png,
      });
      expect(reply.status).toBe(200);
      expect(reply.headers.get('x-model-version')).toBe('v1');
      const body = (await reply.json()) as { predictions: { label: string; score: number }[] };
      const node = new Map(manifest.labels.map((label, i) => [label, p[i]!]));
      expect(body.predictions[0]!.label).toBe(p[0]! >= p[1]! ? 'cat' : 'coffee');
      for (const { label, score } of body.predictions) {
        expect(Math.abs(score - node.get(label)!)).toBeLessThanOrEqual(1e-4);
      }
    } finally {
      await edge.dispose();
    }
  });
});
