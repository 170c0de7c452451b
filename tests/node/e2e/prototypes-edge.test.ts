/**
 * Few-shot prototype versions at the edge, in the real Worker (workerd through miniflare, R2
 * mirrored to a file store): from a published photo model (nsfwjs MobileNetV2), POST 5 crops per
 * class for 3 classes → a new version that classifies held-out crops, served by the engine,
 * pinned by header and rolled out at 30 % with sticky keys; a second POST adds a class → the next
 * version; the parent's files are untouched; every bad request is a 4xx JSON and writes nothing.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PhotoClass, nsfwjsPhotoExport, photoExamples } from '../../../bench/prototype-fixtures.ts';
import { ModelManifestSchema } from '../../../shared/manifest/manifest.ts';
import { EXAMPLES_FILE } from '../../../shared/prototype/examples.ts';
import { publishVersion } from '../../../shared/registry/publish.ts';
import type { ObjectStore } from '../../../shared/store/types.ts';
import { type LocalEdge, startLocalEdge } from '../../../local-edge/local-edge.ts';
import { localBucketStore } from '../../../local-edge/miniflare.ts';
import { openStore } from '../../../shared/store/node/open.ts';
import { tmpDir } from '../train/fixtures.ts';

const ADMIN = 'prototype-admin';
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

let dir: string;
let store: ObjectStore;
let edge: LocalEdge;
/** The edge's own R2 bucket: versions made at the edge live there (the mirror copies only edge-owned keys back). */
let r2: ObjectStore;

/** Every key in the edge's R2 with the sha256 of its content. */
async function snapshot(): Promise<Record<string, string>> {
  const { objects } = await r2.list('');
  const out: Record<string, string> = {};
  for (const o of objects) out[o.key] = sha((await r2.get(o.key))!.body);
  return out;
}

function form(examples: { label: string; png: Uint8Array }[], extra: Record<string, string> = {}): FormData {
  const f = new FormData();
  for (const [k, v] of Object.entries(extra)) f.append(k, v);
  examples.forEach((e, i) => {
    f.append(
      e.label,
      new Blob([e.png as Uint8Array<ArrayBuffer>], { type: 'image/png' }),
      `${e.label}-${i}.png`,
    );
  });
  return f;
}

async function post(model: string, body: FormData | string, token = ADMIN) {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  if (typeof body === 'string') headers['content-type'] = 'application/json';
  const res = await fetch(new URL(`/admin/models/${model}/prototypes`, edge.url), {
    method: 'POST',
    headers,
    body,
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function classify(model: string, png: Uint8Array, headers: Record<string, string> = {}) {
  const res = await fetch(new URL(`/v1/models/${model}/classify?top_k=1`, edge.url), {
    method: 'POST',
    headers: { 'content-type': 'image/png', ...headers },
    body: png as Uint8Array<ArrayBuffer>,
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { predictions: { label: string; score: number }[] };
  return {
    label: body.predictions[0]!.label,
    version: res.headers.get('x-model-version'),
    engine: res.headers.get('x-engine'),
  };
}

const THREE: PhotoClass[] = ['cat', 'coffee', 'galaxies'];

describe('POST /admin/models/{name}/prototypes in workerd', () => {
  beforeAll(async () => {
    dir = tmpDir('prototypes-edge');
    store = openStore(`file://${path.join(dir, 'store')}`);
    const exp = await nsfwjsPhotoExport('photos');
    expect(exp.manifest.engines).toContain('edgetune-wasm');
    await publishVersion(store, 'photos', exp);
    edge = await startLocalEdge(store, {
      port: 0,
      adminToken: ADMIN,
      syncIntervalMs: 0,
      persistDir: path.join(dir, 'r2'),
      // One MobileNetV2 session resident at a time: with the default 100 MB two sessions (~40 MB
      // each) plus the transient copy of the parent graph that building a version decodes can
      // pass the isolate's 128 MB, and workerd then drops the connection of the next request.
      vars: { ROUTING_TTL_SECONDS: '0', REQUEST_LOG: 'off' },
      onWorkerOutput: (line) => console.error(`worker: ${line}`),
    });
    r2 = await localBucketStore(edge.mf, 'r2://prototypes-test/MODELS');
  }, 600_000);

  afterAll(async () => {
    await edge?.dispose();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('bad input is a 4xx JSON error and writes nothing', async () => {
    const before = await snapshot();
    const good = photoExamples(THREE, 3);
    const cases: [
      string,
      () => Promise<{ status: number; body: Record<string, unknown> }>,
      number,
      RegExp,
    ][] = [
      ['no token', () => post('pets', form(good, { from: 'photos' }), ''), 401, /./],
      ['wrong token', () => post('pets', form(good, { from: 'photos' }), 'nope'), 403, /./],
      ['unknown parent model', () => post('pets', form(good, { from: 'nothing' })), 404, /nothing/],
      ['unknown parent version', () => post('pets', form(good, { from: 'photos@v9' })), 404, /v9/],
      [
        'one class only',
        () => post('pets', form(photoExamples(['cat'], 3), { from: 'photos' })),
        400,
        /at least 2 classes/,
      ],
      [
        'a class with one example',
        () => post('pets', form([...good, ...photoExamples(['digits'], 1)], { from: 'photos' })),
        400,
        /"digits" has 1 example/,
      ],
      [
        'an empty class part',
        () => {
          const f = form(good, { from: 'photos' });
          f.append('digits', new Blob([], { type: 'image/png' }), 'empty.png');
          return post('pets', f);
        },
        400,
        /empty/,
      ],
      [
        'a text part instead of an image',
        () => {
          const f = form(good, { from: 'photos' });
          f.append('digits', 'not an image');
          return post('pets', f);
        },
        400,
        /text, not an image/,
      ],
      [
        'a file part that is not an image',
        () => {
          const f = form(good, { from: 'photos' });
          f.append('digits', new Blob([new TextEncoder().encode('hello, world')]), 'notes.txt');
          return post('pets', f);
        },
        415,
        /./,
      ],
      [
        'too many examples',
        () => post('pets', form(photoExamples(THREE, 22), { from: 'photos' })),
        400,
        /at most 64/,
      ],
      [
        'an unknown activation',
        () => post('pets', form(good, { from: 'photos', activate: 'everyone' })),
        400,
        /activate/,
      ],
      [
        'JSON with a bad image',
        () => post('pets', JSON.stringify({ from: 'photos', examples: [{ label: 'cat', image: '%%%' }] })),
        400,
        /not valid base64/,
      ],
    ];
    for (const [what, call, status, message] of cases) {
      const r = await call().catch((e: unknown) => {
        throw new Error(`${what}: ${(e as Error).message} (${String((e as Error).cause)})`);
      });
      expect(r.status, what).toBe(status);
      const error = r.body.error as { code: string; message: string };
      expect(typeof error.code, what).toBe('string');
      expect(error.message, what).toMatch(message);
    }
    expect(await snapshot()).toEqual(before);
  }, 600_000);

  it('5 crops × 3 classes → a new version that classifies held-out crops on the engine; pin, 30 % sticky, next version adds a class', async () => {
    const parentFiles = Object.fromEntries(
      Object.entries(await snapshot()).filter(([k]) => k.startsWith('models/photos/versions/v1/')),
    );
    const created = await post(
      'photos',
      form(photoExamples(THREE, 5), { from: 'photos@v1', activate: '{"candidate":30}' }),
    );
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      model: 'photos',
      version: 'v2',
      from: 'photos@v1',
      classes: THREE,
      examples: 15,
    });
    expect(created.body.leave_one_out_accuracy).toBeGreaterThanOrEqual(0.8);
    expect(created.body.routing).toEqual({ stable: 'v1', candidates: [{ version: 'v2', weight: 30 }] });
    console.log(
      `prototype v2: leave-one-out ${created.body.leave_one_out_accuracy}, temperature ${created.body.temperature}`,
    );

    // Held-out crops (numbers 20..25), pinned to v2 by header: the expected class, on the engine.
    let correct = 0;
    const heldOut = photoExamples(THREE, 6, 20);
    for (const e of heldOut) {
      const r = await classify('photos', e.png, { 'x-model-version': 'v2' });
      expect(r.version).toBe('v2');
      expect(r.engine).toBe('edgetune-wasm');
      if (r.label === e.label) correct++;
    }
    console.log(`prototype v2: held-out top-1 ${correct}/${heldOut.length}`);
    expect(correct).toBeGreaterThanOrEqual(heldOut.length - 1);

    // 30 % rollout: 100 user keys split about 30/70, and each key keeps its version.
    const png = heldOut[0]!.png;
    const first = new Map<string, string>();
    for (let k = 0; k < 100; k++)
      first.set(`user-${k}`, (await classify('photos', png, { 'x-user-key': `user-${k}` })).version!);
    const onV2 = [...first.values()].filter((v) => v === 'v2').length;
    // Binomial(100, 0.3): 15..45 is more than 3 standard deviations either side.
    expect(onV2).toBeGreaterThanOrEqual(15);
    expect(onV2).toBeLessThanOrEqual(45);
    for (let k = 0; k < 100; k += 10) {
      expect((await classify('photos', png, { 'x-user-key': `user-${k}` })).version).toBe(
        first.get(`user-${k}`),
      );
    }

    // A second POST on v2 adds a class: v3, built from v2's stored examples plus the new ones.
    const digits = photoExamples(['digits'], 5).map((e) => ({
      label: e.label,
      image: Buffer.from(e.png).toString('base64'),
    }));
    const next = await post('photos', JSON.stringify({ from: 'photos@v2', examples: digits }));
    expect(next.status).toBe(201);
    expect(next.body).toMatchObject({
      version: 'v3',
      from: 'photos@v2',
      classes: [...THREE, 'digits'],
      examples: 20,
    });
    const digit = await classify('photos', photoExamples(['digits'], 1, 30)[0]!.png, {
      'x-model-version': 'v3',
    });
    expect(digit).toMatchObject({ label: 'digits', version: 'v3', engine: 'edgetune-wasm' });

    const after = await snapshot();
    for (const [key, digest] of Object.entries(parentFiles)) expect(after[key], key).toBe(digest);
    const m3 = ModelManifestSchema.parse(
      JSON.parse(new TextDecoder().decode((await r2.get('models/photos/versions/v3/manifest.json'))!.body)),
    );
    expect(m3.parent).toBe('v2');
    expect(m3.head).toMatchObject({ method: 'prototype', from: { model: 'photos', version: 'v1' } });
    expect(m3.head?.examples).toHaveLength(20);
    expect(m3.engines).toEqual(['edgetune-wasm']);
    expect(after[`models/photos/versions/v3/${EXAMPLES_FILE}`]).toBe(m3.head?.embeddings.sha256);
  }, 600_000);
});
