/**
 * The local edge's mirror between a store and the edge's bucket, on two real file stores: what
 * flows which way, conflicts, the order a reader sees, and bounded parallel copies.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseManifestKey } from '../../../shared/store/keys.ts';
import type { ObjectStore, PutOptions } from '../../../shared/store/types.ts';
import { type MirrorConflict, StoreMirror } from '../../../local-edge/mirror.ts';
import { FileStore } from '../../../shared/store/node/file.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'edgetune-mirror-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
let n = 0;
function pair(): { store: FileStore; edge: FileStore } {
  n++;
  return {
    store: new FileStore(path.join(root, `${n}-store`)),
    edge: new FileStore(path.join(root, `${n}-edge`)),
  };
}

async function snapshot(s: ObjectStore): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const o of (await s.list('')).objects)
    out[o.key] = new TextDecoder().decode((await s.get(o.key))!.body);
  return out;
}

/** The real store, with a check run before every put and a count of puts in flight. */
class Observed implements ObjectStore {
  readonly url: string;
  inFlight = 0;
  maxInFlight = 0;
  constructor(
    readonly inner: ObjectStore,
    private readonly beforePut: (key: string) => Promise<void> = async () => undefined,
  ) {
    this.url = inner.url;
  }
  get(key: string) {
    return this.inner.get(key);
  }
  head(key: string) {
    return this.inner.head(key);
  }
  list(prefix: string, options?: { delimiter?: string }) {
    return this.inner.list(prefix, options);
  }
  delete(key: string) {
    return this.inner.delete(key);
  }
  async put(key: string, body: Uint8Array | string, options?: PutOptions) {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await this.beforePut(key);
      return await this.inner.put(key, body, options);
    } finally {
      this.inFlight--;
    }
  }
}

const routing = (stable: string, candidates: { version: string; weight: number }[] = []) =>
  JSON.stringify({ stable, candidates, shadow: null });

describe('StoreMirror', () => {
  it('copies training-owned objects one way: edge changes are undone, never written back', async () => {
    const { store, edge } = pair();
    await store.put('models/a/versions/v1/model.onnx', 'A-model');
    await store.put('models/a/versions/v1/manifest.json', 'A-manifest');
    await store.put('models/a/policy.json', 'A-policy');
    await store.put('backbones/x/model.onnx', 'backbone');
    const mirror = new StoreMirror(store, edge);
    expect((await mirror.syncOnce()).copiedToEdge).toBe(4);

    // Something at the edge overwrites a model file and adds a file to the store's version.
    await edge.put('models/a/versions/v1/model.onnx', 'OTHER-model');
    await edge.put('models/a/versions/v1/extra.bin', 'OTHER-file');
    const stats = await mirror.syncOnce();
    expect(stats.copiedToStore).toBe(0);
    expect(await snapshot(store)).toEqual({
      'models/a/versions/v1/model.onnx': 'A-model',
      'models/a/versions/v1/manifest.json': 'A-manifest',
      'models/a/policy.json': 'A-policy',
      'backbones/x/model.onnx': 'backbone',
    });
    expect(await snapshot(edge)).toEqual(await snapshot(store));

    // A deletion in the store (delete-version) reaches the edge.
    await store.delete('models/a/versions/v1/manifest.json');
    await mirror.syncOnce();
    expect(await edge.head('models/a/versions/v1/manifest.json')).toBeNull();
  });

  it('leaves the training-only feature cache out of the edge', async () => {
    const { store, edge } = pair();
    const feature = `features/${'a'.repeat(32)}/bb/${'b'.repeat(64)}.f32`;
    await store.put(feature, 'activations');
    await store.put('models/a/policy.json', 'A-policy');
    const stats = await new StoreMirror(store, edge).syncOnce();
    expect(stats.copiedToEdge).toBe(1);
    expect(await snapshot(edge)).toEqual({ 'models/a/policy.json': 'A-policy' });
    expect(await store.head(feature)).not.toBeNull();
  });

  it('copies edge-owned objects both ways, deletions included', async () => {
    const { store, edge } = pair();
    const mirror = new StoreMirror(store, edge);
    await edge.put('datasets/a/feedback/records/r1.json', 'fb');
    await edge.put('jobs/pending/j1.json', 'job');
    await edge.put('models/a/shadow/v2.json', 'shadow');
    await edge.put('models/a/metrics/v1.json', 'metrics');
    await edge.put('models/a/routing-history/t1.json', 'history');
    const stats = await mirror.syncOnce();
    expect(stats.copiedToStore).toBe(5);
    expect(Object.keys(await snapshot(store)).sort()).toEqual(Object.keys(await snapshot(edge)).sort());

    // The worker claims the job in the store: pending goes, running appears, and the edge follows.
    await store.delete('jobs/pending/j1.json');
    await store.put('jobs/running/j1.json', 'claimed');
    await mirror.syncOnce();
    expect(await edge.head('jobs/pending/j1.json')).toBeNull();
    expect(new TextDecoder().decode((await edge.get('jobs/running/j1.json'))!.body)).toBe('claimed');
  });

  it('reports an edge-owned object changed on both sides as a conflict and keeps the store copy', async () => {
    const { store, edge } = pair();
    const conflicts: MirrorConflict[] = [];
    const mirror = new StoreMirror(store, edge, { onConflict: (c) => conflicts.push(c) });
    await store.put('models/a/routing.json', routing('v1'));
    await mirror.syncOnce();
    await store.put('models/a/routing.json', routing('v2'));
    await edge.put('models/a/routing.json', routing('v3'));
    const stats = await mirror.syncOnce();
    expect(stats.conflicts).toBe(1);
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0]!.key).toBe('models/a/routing.json');
    const kept = routing('v2');
    expect(new TextDecoder().decode((await edge.get('models/a/routing.json'))!.body)).toBe(kept);
    expect(new TextDecoder().decode((await store.get('models/a/routing.json'))!.body)).toBe(kept);
    // Settled: the next pass has nothing to do.
    expect(await mirror.syncOnce()).toEqual({
      copiedToEdge: 0,
      copiedToStore: 0,
      deleted: 0,
      conflicts: 0,
      deferred: 0,
    });
  });

  it('lets a reader at the edge see files before manifests and manifests before routing', async () => {
    const { store, edge: rawEdge } = pair();
    const models = ['m1', 'm2', 'm3'];
    for (const m of models) {
      for (const v of ['v1', 'v2']) {
        await store.put(`models/${m}/versions/${v}/model.onnx`, `${m}${v}`);
        await store.put(`models/${m}/versions/${v}/report.html`, 'r');
        await store.put(`models/${m}/versions/${v}/manifest.json`, `{}`);
      }
      await store.put(`models/${m}/routing.json`, routing('v1', [{ version: 'v2', weight: 10 }]));
    }
    const violations: string[] = [];
    const edge = new Observed(rawEdge, async (key) => {
      const manifest = parseManifestKey(key);
      if (
        manifest &&
        !(await rawEdge.head(`models/${manifest.name}/versions/${manifest.version}/model.onnx`))
      )
        violations.push(`${key} before its model`);
      const r = /^models\/([^/]+)\/routing\.json$/.exec(key);
      if (r)
        for (const v of ['v1', 'v2'])
          if (!(await rawEdge.head(`models/${r[1]}/versions/${v}/manifest.json`)))
            violations.push(`${key} before ${v}'s manifest`);
    });
    await new StoreMirror(store, edge, { concurrency: 4 }).syncOnce();
    expect(violations).toEqual([]);
    expect(Object.keys(await snapshot(rawEdge))).toHaveLength(models.length * 7);
  });

  it('copies a version made at the edge to the store: files, then its manifest, then the routing naming it', async () => {
    const { store: rawStore, edge } = pair();
    await rawStore.put('models/a/versions/v1/model.onnx', 'A1');
    await rawStore.put('models/a/versions/v1/manifest.json', '{}');
    await rawStore.put('models/a/routing.json', routing('v1'));
    const violations: string[] = [];
    const store = new Observed(rawStore, async (key) => {
      if (key === 'models/a/versions/v2/manifest.json') {
        for (const f of ['model.onnx', 'prototype-examples.f32'])
          if (!(await rawStore.head(`models/a/versions/v2/${f}`))) violations.push(`manifest before ${f}`);
      }
      if (key === 'models/a/routing.json' && !(await rawStore.head('models/a/versions/v2/manifest.json')))
        violations.push('routing before the manifest it names');
    });
    const mirror = new StoreMirror(store, edge, { concurrency: 4 });
    await mirror.syncOnce();

    // The edge's admin API writes a prototype version (files, manifest last) and routes 30 % to it.
    await edge.put('models/a/versions/v2/model.onnx', 'A2');
    await edge.put('models/a/versions/v2/prototype-examples.f32', 'E2');
    await mirror.syncOnce();
    // Half-written (no manifest yet): left alone on both sides.
    expect(await rawStore.head('models/a/versions/v2/model.onnx')).toBeNull();
    expect(await edge.head('models/a/versions/v2/model.onnx')).not.toBeNull();
    await edge.put('models/a/versions/v2/manifest.json', '{"v":2}');
    await edge.put('models/a/routing.json', routing('v1', [{ version: 'v2', weight: 30 }]));
    const stats = await mirror.syncOnce();
    expect(violations).toEqual([]);
    expect(stats.copiedToStore).toBe(4);
    expect(await snapshot(rawStore)).toEqual(await snapshot(edge));

    // From then on it is the store's like any other version: deleting it there reaches the edge.
    await rawStore.put('models/a/routing.json', routing('v1'));
    await rawStore.delete('models/a/versions/v2/manifest.json');
    await mirror.syncOnce();
    expect(await edge.head('models/a/versions/v2/manifest.json')).toBeNull();
    expect(await edge.head('models/a/routing.json')).not.toBeNull();
  });

  it('never copies to the store a routing document naming a version the store does not have', async () => {
    const { store, edge } = pair();
    await store.put('models/a/versions/v1/manifest.json', '{}');
    await store.put('models/a/routing.json', routing('v1'));
    const mirror = new StoreMirror(store, edge);
    await mirror.syncOnce();
    const before = new TextDecoder().decode((await store.get('models/a/routing.json'))!.body);
    await edge.put('models/a/routing.json', routing('v1', [{ version: 'v9', weight: 50 }]));
    for (let pass = 0; pass < 2; pass++) {
      const stats = await mirror.syncOnce();
      expect(stats.deferred).toBe(1);
      expect(stats.copiedToStore).toBe(0);
      expect(new TextDecoder().decode((await store.get('models/a/routing.json'))!.body)).toBe(before);
    }
    // Once the store has v9 (published by its owner), the edge's routing goes through.
    await store.put('models/a/versions/v9/manifest.json', '{}');
    const stats = await mirror.syncOnce();
    expect(stats.deferred).toBe(0);
    expect(new TextDecoder().decode((await store.get('models/a/routing.json'))!.body)).toBe(
      routing('v1', [{ version: 'v9', weight: 50 }]),
    );
  });

  it("keeps the store's own version when it publishes the same version id while the edge makes one", async () => {
    const { store: rawStore, edge } = pair();
    const conflicts: MirrorConflict[] = [];
    // The store's owner publishes b@v1 between the mirror's listing and its copy.
    const store = new Observed(rawStore, async (key) => {
      if (key === 'models/b/versions/v1/model.onnx' && !(await rawStore.head(key)))
        await rawStore.put(key, 'STORE-model');
    });
    const mirror = new StoreMirror(store, edge, { onConflict: (c) => conflicts.push(c) });
    await edge.put('models/b/versions/v1/model.onnx', 'EDGE-model');
    await edge.put('models/b/versions/v1/manifest.json', '{}');
    await expect(mirror.syncOnce()).resolves.toMatchObject({ conflicts: 1 });
    expect(conflicts.map((c) => c.key)).toEqual(['models/b/versions/v1/model.onnx']);
    expect(new TextDecoder().decode((await rawStore.get('models/b/versions/v1/model.onnx'))!.body)).toBe(
      'STORE-model',
    );
    // Its manifest never reached the store; the edge now follows the store's version.
    expect(await rawStore.head('models/b/versions/v1/manifest.json')).toBeNull();
    await mirror.syncOnce();
    expect(await snapshot(edge)).toEqual(await snapshot(rawStore));
  });

  it('copies 150 feedback uploads in one pass, with bounded parallelism', async () => {
    const { store: rawStore, edge } = pair();
    for (let i = 0; i < 150; i++)
      await edge.put(`datasets/a/feedback/index/${String(i).padStart(4, '0')}`, `${i}`);
    const store = new Observed(rawStore);
    const stats = await new StoreMirror(store, edge, { concurrency: 6 }).syncOnce();
    expect(stats.copiedToStore).toBe(150);
    expect((await rawStore.list('datasets/a/feedback/')).objects).toHaveLength(150);
    expect(store.maxInFlight).toBeLessThanOrEqual(6);
    expect(store.maxInFlight).toBeGreaterThan(1);
  });
});
