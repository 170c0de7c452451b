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
import { type MirrorConflict, StoreMirror } from '../../../training/serve/mirror.ts';
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

    // Something at the edge overwrites a model file and adds a version of its own.
    await edge.put('models/a/versions/v1/model.onnx', 'OTHER-model');
    await edge.put('models/b/versions/v1/manifest.json', 'OTHER-manifest');
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
    expect(await mirror.syncOnce()).toEqual({ copiedToEdge: 0, copiedToStore: 0, deleted: 0, conflicts: 0 });
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
