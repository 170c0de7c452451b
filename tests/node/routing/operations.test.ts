import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteVersion } from '../../../shared/registry/delete.ts';
import {
  orderByChain,
  readRoutingHistory,
  type RoutingHistoryEntry,
} from '../../../shared/routing/history.ts';
import { publishVersion } from '../../../shared/registry/publish.ts';
import {
  clearShadow,
  promote,
  readRouting,
  rollback,
  rollout,
  setRouting,
  setShadow,
  versionExists,
} from '../../../shared/routing/operations.ts';
import { listVersionIds } from '../../../shared/registry/versions.ts';
import { putJson } from '../../../shared/store/json.ts';
import { keys } from '../../../shared/store/keys.ts';
import type { ObjectStore } from '../../../shared/store/types.ts';
import { FileStore } from '../../../shared/store/node/file.ts';
import { makeExport } from '../registry/fixtures.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** A file store with model `m` at versions v1..vN (v1 stable). */
async function storeWith(n: number): Promise<FileStore> {
  const d = await mkdtemp(path.join(os.tmpdir(), 'edgetune-routing-'));
  dirs.push(d);
  const store = new FileStore(d);
  for (let i = 1; i <= n; i++) await publishVersion(store, 'm', makeExport(i));
  return store;
}

async function history(store: FileStore): Promise<RoutingHistoryEntry[]> {
  const state = await readRouting(store, 'm');
  return readRoutingHistory(store, 'm', state?.etag ?? null);
}

describe('routing changes', () => {
  it('rollout, promote, shadow and their validation', async () => {
    const store = await storeWith(4);
    await rollout(store, 'm', 'v2', 25, { reason: 'canary' });
    await rollout(store, 'm', 'v3', 10);
    let doc = (await readRouting(store, 'm'))!.doc;
    expect(doc).toMatchObject({
      stable: 'v1',
      candidates: [
        { version: 'v2', weight: 25 },
        { version: 'v3', weight: 10 },
      ],
    });
    expect(doc.reason).toBe('rollout');

    await rollout(store, 'm', 'v2', 50);
    expect((await readRouting(store, 'm'))!.doc.candidates).toEqual([
      { version: 'v2', weight: 50 },
      { version: 'v3', weight: 10 },
    ]);
    await expect(rollout(store, 'm', 'v3', 60)).rejects.toMatchObject({ code: 'bad_request' });
    await expect(rollout(store, 'm', 'v9', 5)).rejects.toMatchObject({ code: 'not_found' });
    await expect(rollout(store, 'm', 'v1', 5)).rejects.toMatchObject({ code: 'conflict' });
    await expect(rollout(store, 'm', 'v2', 101)).rejects.toMatchObject({ code: 'bad_request' });
    await expect(rollout(store, 'm', '../v2', 1)).rejects.toMatchObject({ code: 'invalid_name' });
    const noop = await rollout(store, 'm', 'v2', 50);
    expect(noop.changed).toBe(false);

    await setShadow(store, 'm', 'v4', 0.2);
    await expect(setShadow(store, 'm', 'v4', 1.5)).rejects.toMatchObject({ code: 'bad_request' });
    await promote(store, 'm', 'v2');
    doc = (await readRouting(store, 'm'))!.doc;
    expect(doc).toMatchObject({
      stable: 'v2',
      candidates: [{ version: 'v3', weight: 10 }],
      shadow: { version: 'v4', sample: 0.2 },
    });
    await rollout(store, 'm', 'v3', 0);
    await clearShadow(store, 'm');
    expect((await readRouting(store, 'm'))!.doc).toMatchObject({
      stable: 'v2',
      candidates: [],
      shadow: null,
    });

    const h = await history(store);
    expect(h.map((e) => e.action)).toEqual([
      'publish',
      'rollout',
      'rollout',
      'rollout',
      'shadow',
      'promote',
      'rollout',
      'shadow-clear',
    ]);
    expect(h[1]!.reason).toBe('canary');
    for (let i = 1; i < h.length; i++) {
      expect(h[i]!.previous).toEqual(h[i - 1]!.next);
      expect(h[i]!.previousEtag).toBe(h[i - 1]!.etag);
    }
  });

  it('rollback walks back through the stables like undo', async () => {
    const store = await storeWith(3);
    await promote(store, 'm', 'v2');
    await promote(store, 'm', 'v3');
    expect((await rollback(store, 'm')).doc.stable).toBe('v2');
    expect((await rollback(store, 'm')).doc.stable).toBe('v1');
    await expect(rollback(store, 'm')).rejects.toMatchObject({ code: 'conflict' });
    await promote(store, 'm', 'v3');
    expect((await rollback(store, 'm')).doc.stable).toBe('v1');
    // A candidate that becomes stable through rollback leaves the candidate list.
    await promote(store, 'm', 'v2');
    await rollout(store, 'm', 'v1', 30);
    const r = await rollback(store, 'm');
    expect(r.doc).toMatchObject({ stable: 'v1', candidates: [] });
  });

  it('rollback reads the routing document, not the history, and skips deleted versions', async () => {
    const store = await storeWith(4);
    for (const v of ['v2', 'v3', 'v4']) await promote(store, 'm', v);
    expect((await readRouting(store, 'm'))!.doc.previousStables).toEqual(['v1', 'v2', 'v3']);
    await deleteVersion(store, 'm', 'v3');
    const historyReads: string[] = [];
    const counting: ObjectStore = {
      url: store.url,
      get: (key) => {
        if (key.startsWith(keys.routingHistoryPrefix('m'))) historyReads.push(key);
        return store.get(key);
      },
      head: (key) => store.head(key),
      put: (key, body, options) => store.put(key, body, options),
      list: (prefix, options) => store.list(prefix, options),
      delete: (key) => store.delete(key),
    };
    const back = await rollback(counting, 'm');
    expect(back.doc).toMatchObject({ stable: 'v2', previousStables: ['v1'] });
    expect(historyReads).toEqual([]);
    // A later promote pushes again; undo order holds.
    await promote(store, 'm', 'v4');
    expect((await rollback(store, 'm')).doc.stable).toBe('v2');
    expect((await rollback(store, 'm')).doc.stable).toBe('v1');
    await expect(rollback(store, 'm')).rejects.toMatchObject({ code: 'conflict' });
  });

  it('a routing document written before previousStables existed gets them from the history', async () => {
    const store = await storeWith(3);
    await promote(store, 'm', 'v2');
    await promote(store, 'm', 'v3');
    // What an older edgetune left: the same document without the stack.
    const state = (await readRouting(store, 'm'))!;
    const { previousStables: _gone, ...legacy } = state.doc;
    await putJson(store, keys.routing('m'), legacy, { ifMatch: state.etag });
    // The rewrite is not in the history; the history still says v1 → v2 → v3.
    const back = await rollback(store, 'm');
    expect(back.doc).toMatchObject({ stable: 'v2', previousStables: ['v1'] });
    expect((await rollback(store, 'm')).doc.stable).toBe('v1');
  });

  it('two (and five) routing writers racing lose no update', async () => {
    const store = await storeWith(6);
    await Promise.all([rollout(store, 'm', 'v2', 30), rollout(store, 'm', 'v3', 20)]);
    let doc = (await readRouting(store, 'm'))!.doc;
    expect([...doc.candidates].sort((a, b) => (a.version < b.version ? -1 : 1))).toEqual([
      { version: 'v2', weight: 30 },
      { version: 'v3', weight: 20 },
    ]);
    const results = await Promise.all([
      rollout(store, 'm', 'v4', 5),
      rollout(store, 'm', 'v5', 6),
      setShadow(store, 'm', 'v6', 0.5),
      rollout(store, 'm', 'v2', 31),
      rollout(store, 'm', 'v3', 21),
    ]);
    doc = (await readRouting(store, 'm'))!.doc;
    const weights = Object.fromEntries(doc.candidates.map((c) => [c.version, c.weight]));
    expect(weights).toEqual({ v2: 31, v3: 21, v4: 5, v5: 6 });
    expect(doc.shadow).toEqual({ version: 'v6', sample: 0.5 });
    expect(results.reduce((s, r) => s + r.attempts, 0)).toBeGreaterThan(5); // they really collided
    const h = await history(store);
    expect(h).toHaveLength(1 + 2 + 5);
    for (let i = 1; i < h.length; i++) expect(h[i]!.previous).toEqual(h[i - 1]!.next);
    expect(h[h.length - 1]!.next).toEqual(doc);
  });

  it('orders history by the etag chain even when timestamps tie or lie', () => {
    const doc = (stable: string) => ({ stable, candidates: [], shadow: null });
    const e = (etag: string, previousEtag: string | null, at: string): RoutingHistoryEntry => ({
      schema: 1,
      at,
      action: 'promote',
      previous: null,
      next: doc(etag),
      previousEtag,
      etag,
    });
    const sameMs = '2026-05-01T00:00:00.000Z';
    const byKey = [e('c', 'b', sameMs), e('a', null, sameMs), e('b', 'a', '2026-04-01T00:00:00.000Z')];
    expect(orderByChain(byKey, 'c').map((x) => x.etag)).toEqual(['a', 'b', 'c']);
    expect(orderByChain(byKey, 'b').map((x) => x.etag)).toEqual(['c', 'a', 'b']);
  });

  it('refuses a corrupt routing document and setRouting with unknown versions', async () => {
    const store = await storeWith(2);
    await expect(setRouting(store, 'm', { stable: 'v7', candidates: [] })).rejects.toMatchObject({
      code: 'not_found',
    });
    await expect(
      setRouting(store, 'm', { stable: 'v1', candidates: [{ version: 'v2', weight: 120 }] }),
    ).rejects.toMatchObject({
      code: 'bad_request',
    });
    const set = await setRouting(store, 'm', { stable: 'v2', candidates: [{ version: 'v1', weight: 5 }] });
    expect(set.doc).toMatchObject({ stable: 'v2', candidates: [{ version: 'v1', weight: 5 }], shadow: null });
    await store.put(keys.routing('m'), '{"stable": 42}');
    await expect(readRouting(store, 'm')).rejects.toMatchObject({ code: 'corrupt' });
    await expect(rollout(store, 'm', 'v2', 5)).rejects.toThrow(/models\/m\/routing\.json/);
  });
});

describe('delete-version', () => {
  it('is refused while routed and removes every object otherwise', async () => {
    const store = await storeWith(4);
    await rollout(store, 'm', 'v2', 10);
    await setShadow(store, 'm', 'v3', 0.1);
    await expect(deleteVersion(store, 'm', 'v1')).rejects.toThrow(/routed \(stable\)/);
    await expect(deleteVersion(store, 'm', 'v2')).rejects.toThrow(/routed \(candidate\)/);
    await expect(deleteVersion(store, 'm', 'v3')).rejects.toThrow(/routed \(shadow\)/);
    expect(await listVersionIds(store, 'm')).toEqual(['v1', 'v2', 'v3', 'v4']);
    const r = await deleteVersion(store, 'm', 'v4');
    expect(r.deleted).toEqual([keys.manifest('m', 'v4'), keys.versionFile('m', 'v4', 'model.onnx')]);
    expect((await store.list(keys.versionPrefix('m', 'v4'))).objects).toEqual([]);
    expect(await listVersionIds(store, 'm')).toEqual(['v1', 'v2', 'v3']);
    await expect(deleteVersion(store, 'm', 'v4')).rejects.toMatchObject({ code: 'not_found' });
    await expect(rollout(store, 'm', 'v4', 1)).rejects.toMatchObject({ code: 'not_found' });
  });

  it('cleans up a crashed publish', async () => {
    const store = await storeWith(1);
    await expect(
      publishVersion(store, 'm', makeExport(50), {
        beforeManifest: () => Promise.reject(new Error('killed')),
      }),
    ).rejects.toThrow('killed');
    const r = await deleteVersion(store, 'm', 'v2');
    expect(r).toMatchObject({ wasVisible: false, deleted: [keys.versionFile('m', 'v2', 'model.onnx')] });
  });

  it('racing a rollout never leaves routing pointing at a deleted version', async () => {
    const store = await storeWith(1);
    const outcomes = { deleted: 0, routed: 0 };
    for (let i = 0; i < 6; i++) {
      const { version } = await publishVersion(store, 'm', makeExport(100 + i));
      const [del, roll] = await Promise.allSettled([
        deleteVersion(store, 'm', version),
        rollout(store, 'm', version, 10),
      ]);
      const doc = (await readRouting(store, 'm'))!.doc;
      const routed = doc.candidates.some((c) => c.version === version);
      // Exactly one of them wins, and the state agrees with the winner.
      expect(del.status === 'fulfilled').not.toBe(roll.status === 'fulfilled');
      expect(routed).toBe(roll.status === 'fulfilled');
      expect(await versionExists(store, 'm', version)).toBe(routed);
      if (routed) {
        outcomes.routed++;
        await rollout(store, 'm', version, 0);
      } else outcomes.deleted++;
    }
    expect(outcomes.deleted + outcomes.routed).toBe(6);
  });
});
