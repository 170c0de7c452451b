import { beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../shared/store/keys.ts';
import { call, callViaEntry, fixtureImage, fixtures, publishFixtures, store } from './fixtures.ts';

const MODEL = 'parity';

interface ClassifyAnswer {
  model: string;
  version: string;
  predictions: { label: string; score: number }[];
  timing_ms: number;
}

function argmax(v: number[]): number {
  return v.reduce((best, x, i) => (x > v[best]! ? i : best), 0);
}

describe('classify and embed: edge vs onnxruntime-node', () => {
  beforeAll(async () => {
    await publishFixtures(MODEL, 1);
  });

  it('agrees with the Node pipeline on every fixture image (same top-1, max |Δp| ≤ 1e-4)', async () => {
    const { images, references, exports } = fixtures();
    const labels = exports[0]!.manifest.labels;
    let maxDiff = 0;
    const top1s = new Set<string>();
    for (const image of images) {
      const bytes = fixtureImage(image.id).bytes;
      // Through the Worker's public entry, as a deployed request arrives.
      const res = await callViaEntry(`/v1/models/${MODEL}/classify?top_k=${labels.length}`, {
        method: 'POST',
        headers: { 'content-type': image.contentType },
        body: bytes,
      });
      expect(res.status, image.id).toBe(200);
      expect(res.headers.get('x-model-version')).toBe('v1');
      // The fixture's manifest lists the engine: these answers come from it, not onnxruntime-web.
      expect(res.headers.get('x-engine')).toBe('edgetune-wasm');
      const json = (await res.json()) as ClassifyAnswer;
      expect(json.model).toBe(MODEL);
      expect(json.version).toBe('v1');
      const ref = references[0]![image.id]!.probabilities;
      const byLabel = new Map(json.predictions.map((p) => [p.label, p.score]));
      expect(json.predictions[0]!.label, image.id).toBe(labels[argmax(ref)]);
      top1s.add(json.predictions[0]!.label);
      labels.forEach((l, i) => {
        maxDiff = Math.max(maxDiff, Math.abs(byLabel.get(l)! - ref[i]!));
      });
    }
    console.log(
      `edge vs node: ${images.length} images, max |Δp| = ${maxDiff.toExponential(2)}, top-1 labels seen: ${[...top1s].join(', ')}`,
    );
    expect(maxDiff).toBeLessThanOrEqual(1e-4);
  });

  it('accepts JSON {image} and a bounded batch {images}, with top_k', async () => {
    const ids = fixtures()
      .images.map((i) => i.id)
      .slice(0, 4);
    const single = await call(`/v1/models/${MODEL}/classify?top_k=2`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ image: fixtureImage(ids[0]!).base64 }),
    });
    expect(single.status).toBe(200);
    expect(((await single.json()) as ClassifyAnswer).predictions).toHaveLength(2);

    const batch = await call(`/v1/models/${MODEL}/classify?top_k=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ images: ids.map((id) => `data:image/png;base64,${fixtureImage(id).base64}`) }),
    });
    expect(batch.status).toBe(200);
    const json = (await batch.json()) as { results: { predictions: { label: string; score: number }[] }[] };
    expect(json.results).toHaveLength(ids.length);
    const labels = fixtures().exports[0]!.manifest.labels;
    json.results.forEach((r, i) => {
      const ref = fixtures().references[0]![ids[i]!]!.probabilities;
      expect(r.predictions[0]!.label).toBe(labels[argmax(ref)]);
      expect(Math.abs(r.predictions[0]!.score - ref[argmax(ref)]!)).toBeLessThanOrEqual(1e-4);
    });
  });

  it('embeds as JSON and as little-endian float32 base64, matching Node', async () => {
    const id = fixtures().images[2]!.id;
    const image = fixtureImage(id);
    const ref = fixtures().references[0]![id]!.embedding;
    const asJson = await call(`/v1/models/${MODEL}/embed`, {
      method: 'POST',
      headers: { 'content-type': image.contentType },
      body: image.bytes,
    });
    expect(asJson.status).toBe(200);
    const j = (await asJson.json()) as { dim: number; embedding: number[]; version: string };
    expect(j.dim).toBe(ref.length);
    expect(j.embedding).toHaveLength(ref.length);
    expect(Math.max(...j.embedding.map((v, i) => Math.abs(v - ref[i]!)))).toBeLessThanOrEqual(1e-4);

    const asB64 = await call(`/v1/models/${MODEL}/embed?encoding=base64`, {
      method: 'POST',
      headers: { 'content-type': image.contentType },
      body: image.bytes,
    });
    const b = (await asB64.json()) as { embedding: string; dim: number };
    const raw = Uint8Array.from(atob(b.embedding), (ch) => ch.charCodeAt(0));
    expect(raw.byteLength).toBe(4 * b.dim);
    const view = new DataView(raw.buffer);
    for (let i = 0; i < b.dim; i++) expect(view.getFloat32(i * 4, true)).toBe(Math.fround(j.embedding[i]!));
  });

  it('lists models with their routing', async () => {
    const res = await call('/v1/models');
    expect(res.status).toBe(200);
    const json = (await res.json()) as {
      models: { name: string; stable: string | null; versions: string[] }[];
    };
    const m = json.models.find((x) => x.name === MODEL);
    expect(m).toMatchObject({ stable: 'v1', versions: ['v1'] });
  });
});

const KSERVE = 'kserve';

interface InferAnswer {
  model_name: string;
  model_version: string;
  id?: string;
  outputs: { name: string; datatype: string; shape: number[]; data: number[] }[];
}

describe('Open Inference Protocol (KServe V2)', () => {
  beforeAll(async () => {
    await publishFixtures(KSERVE, 2);
  });

  it('answers health, metadata and readiness', async () => {
    expect(await (await call('/v2/health/live')).json()).toEqual({ live: true });
    expect(await (await call('/v2/health/ready')).json()).toEqual({ ready: true });
    const meta = (await (await call(`/v2/models/${KSERVE}`)).json()) as Record<string, unknown>;
    expect(meta).toMatchObject({
      name: KSERVE,
      versions: ['v1', 'v2'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'image', datatype: 'FP32', shape: [-1, 3, 32, 32] }],
      outputs: [
        { name: 'probabilities', datatype: 'FP32', shape: [-1, 4] },
        { name: 'embedding', datatype: 'FP32', shape: [-1, 16] },
      ],
    });
    const v2 = (await (await call(`/v2/models/${KSERVE}/versions/v2`)).json()) as {
      parameters: { version: string };
    };
    expect(v2.parameters.version).toBe('v2');
    const ready = await call(`/v2/models/${KSERVE}/versions/v2/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ name: KSERVE, version: 'v2', ready: true });
    expect((await call(`/v2/models/${KSERVE}/versions/v9/ready`)).status).toBe(404);
    expect((await call('/v2/models/nope/ready')).status).toBe(404);
  });

  it('infers from BYTES (base64 images) and from an FP32 tensor, matching Node', async () => {
    const { references, images } = fixtures();
    const ids = images.slice(0, 3).map((i) => i.id);
    const res = await call(`/v2/models/${KSERVE}/versions/v2/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        id: 'req-1',
        inputs: [
          {
            name: 'image',
            shape: [ids.length],
            datatype: 'BYTES',
            data: ids.map((id) => fixtureImage(id).base64),
          },
        ],
      }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-model-version')).toBe('v2');
    const json = (await res.json()) as InferAnswer;
    expect(json).toMatchObject({ model_name: KSERVE, model_version: 'v2', id: 'req-1' });
    const probs = json.outputs.find((o) => o.name === 'probabilities')!;
    const emb = json.outputs.find((o) => o.name === 'embedding')!;
    expect(probs.shape).toEqual([3, 4]);
    expect(emb.shape).toEqual([3, 16]);
    let maxDiff = 0;
    ids.forEach((id, i) => {
      const ref = references[1]![id]!;
      ref.probabilities.forEach((p, k) => {
        maxDiff = Math.max(maxDiff, Math.abs(probs.data[i * 4 + k]! - p));
      });
      ref.embedding.forEach((e, k) => {
        maxDiff = Math.max(maxDiff, Math.abs(emb.data[i * 16 + k]! - e));
      });
    });
    expect(maxDiff).toBeLessThanOrEqual(1e-4);

    // The Node-preprocessed tensor of one image, sent as FP32, pinned to v1 by header.
    const { tensor } = fixtures();
    const fp32 = await call(`/v2/models/${KSERVE}/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-model-version': 'v1' },
      body: JSON.stringify({
        inputs: [{ name: 'image', shape: [1, 3, 32, 32], datatype: 'FP32', data: tensor.data }],
        outputs: [{ name: 'probabilities' }],
      }),
    });
    expect(fp32.status).toBe(200);
    expect(fp32.headers.get('x-engine')).toBe('edgetune-wasm');
    const fj = (await fp32.json()) as InferAnswer;
    expect(fj.model_version).toBe('v1');
    expect(fj.outputs.map((o) => o.name)).toEqual(['probabilities']);
    const ref = references[0]![tensor.imageId]!.probabilities;
    expect(Math.max(...fj.outputs[0]!.data.map((p, k) => Math.abs(p - ref[k]!)))).toBeLessThanOrEqual(1e-4);
  });
});

describe('readiness (KServe semantics): ready only when every routed version can be found', () => {
  const HALF = 'half-copied';

  it('answers 503 not_ready while routing names a version without a manifest, 200 once it is there', async () => {
    // What a store copied in the wrong order looks like: routing first, the version's manifest later.
    await store().put(keys.routing(HALF), JSON.stringify({ stable: 'v1', candidates: [], shadow: null }));
    for (const path of ['/v2/health/ready', `/v2/models/${HALF}/ready`]) {
      const res = await call(path);
      expect(res.status, path).toBe(503);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('not_ready');
      expect(body.error.message).toContain(`model ${HALF}: routed version v1`);
    }
    expect((await call('/v2/health/live')).status).toBe(200);

    await publishFixtures(HALF, 1);
    expect(await (await call('/v2/health/ready')).json()).toEqual({ ready: true });
    const ready = await call(`/v2/models/${HALF}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ name: HALF, version: 'v1', ready: true });
  });
});
