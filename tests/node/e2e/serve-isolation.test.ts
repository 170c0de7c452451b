/**
 * `edgetune serve` never mixes stores. Two stores hold models with the same names but different
 * weights and labels (each label names its store). The CLI serves store A, then store B, then both
 * at once on two ports, each time under a few hundred requests with a promote and a rollback
 * through the admin API. Checked: right after the URL is printed every routed version answers (no
 * 404), every answer comes from the served store, each store afterwards holds exactly its own
 * objects plus what its edge wrote (routing changes, routing history, shadow counters), the
 * processes exit on SIGTERM/SIGINT and leave no temporary folders. On file:// and s3:// stores.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEdgeOwnedKey } from '../../../shared/store/keys.ts';
import type { ObjectStore } from '../../../shared/store/types.ts';
import { openStore } from '../../../shared/store/node/open.ts';
import { edgeImages } from '../../../bench/edge-models.ts';
import { type RunningS3, startS3rver } from '../store/s3rver.ts';
import {
  ADMIN_TOKEN,
  contents,
  type SeededModel,
  type ServeProcess,
  seedStore,
  spawnServe,
} from './serve-stores.ts';

const REQUESTS = 240;
const CONCURRENCY = 8;
const image = edgeImages()[0]!;

interface Served {
  tag: string;
  /** As given to `--store` (an s3 store's printable url leaves out the endpoint). */
  storeUrl: string;
  store: ObjectStore;
  models: SeededModel[];
  /** The routing document the last admin call at this store's edge returned, per model. */
  lastRouting: Map<string, unknown>;
  /** Routing changes made through this store's edges (each leaves one routing-history entry). */
  adminChanges: number;
}

async function classify(edge: URL, model: string, version: string | null, user: string) {
  const p = version ? `/v1/models/${model}/versions/${version}/classify` : `/v1/models/${model}/classify`;
  const res = await fetch(new URL(p, edge), {
    method: 'POST',
    headers: { 'content-type': image.contentType, 'x-user-key': user },
    body: new Uint8Array(image.bytes),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  return { status: res.status, text, version: res.headers.get('x-model-version') };
}

/** Problems with one answer: not 200, another model, an unknown version, another store's labels. */
function check(s: Served, model: string, a: { status: number; text: string }): string | null {
  if (a.status !== 200) return `${model}: ${a.status} ${a.text.slice(0, 200)}`;
  const json = JSON.parse(a.text) as { model: string; version: string; predictions: { label: string }[] };
  const seeded = s.models.find((m) => m.name === model)!;
  if (json.model !== model || !seeded.versions.includes(json.version))
    return `${model}: answered ${a.text.slice(0, 200)}`;
  const foreign = json.predictions.find((p) => !p.label.startsWith(`${s.tag}-`));
  return foreign ? `${model}@${json.version}: label ${foreign.label} is not store ${s.tag}'s` : null;
}

/** Right after the URL is printed: ready, and every routed version of every model answers. */
async function checkReadyAtOnce(edge: URL, s: Served): Promise<string[]> {
  const problems: string[] = [];
  const ready = await fetch(new URL('/v2/health/ready', edge));
  if (ready.status !== 200) problems.push(`/v2/health/ready: ${ready.status} ${await ready.text()}`);
  await Promise.all(
    s.models.flatMap((m) => [
      ...m.routed.map(async (v) => {
        const p = check(s, m.name, await classify(edge, m.name, v, 'first'));
        if (p) problems.push(p);
      }),
      (async () => {
        const res = await fetch(new URL(`/v2/models/${m.name}/ready`, edge));
        if (res.status !== 200) problems.push(`${m.name}/ready: ${res.status} ${await res.text()}`);
      })(),
    ]),
  );
  return problems;
}

async function admin(edge: URL, s: Served, action: 'promote' | 'rollback', body: unknown) {
  const res = await fetch(new URL(`/admin/models/shared/${action}`, edge), {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  });
  const json = (await res.json()) as { routing: unknown; changed: boolean };
  expect(res.status, JSON.stringify(json)).toBe(200);
  s.lastRouting.set('shared', json.routing);
  expect(json.changed, `${action} changed nothing`).toBe(true);
  s.adminChanges++;
}

/** REQUESTS classify calls, CONCURRENCY at a time, with a promote and a rollback on the way. */
async function load(edge: URL, s: Served): Promise<string[]> {
  const problems: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < REQUESTS) {
      const i = next++;
      if (i === Math.floor(REQUESTS / 3)) await admin(edge, s, 'promote', { version: 'v2' });
      if (i === Math.floor((2 * REQUESTS) / 3)) await admin(edge, s, 'rollback', {});
      const m = s.models[i % s.models.length]!;
      const pinned = i % 5 === 0 ? m.versions[i % m.versions.length]! : null;
      const p = check(s, m.name, await classify(edge, m.name, pinned, `user-${i}`));
      if (p) problems.push(p);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return problems;
}

/** Each store holds what it held, plus only edge-owned objects; its routing is its own edge's. */
async function checkStore(s: Served, before: Map<string, string>) {
  const after = await contents(s.store);
  for (const [key, sha] of before) {
    if (!isEdgeOwnedKey(key)) expect(after.get(key), `${s.tag}: ${key}`).toBe(sha);
  }
  const added = [...after.keys()].filter((k) => !before.has(k));
  expect(
    added.filter((k) => !isEdgeOwnedKey(k)),
    `${s.tag}: objects the edge must not write`,
  ).toEqual([]);
  // Exactly this store's own edges' routing changes: none of the other store's history came in.
  const history = added.filter((k) => k.startsWith('models/shared/routing-history/'));
  expect(history, `${s.tag}: routing history`).toHaveLength(s.adminChanges);
  const routing = await s.store.get('models/shared/routing.json');
  expect(JSON.parse(new TextDecoder().decode(routing!.body))).toEqual(s.lastRouting.get('shared'));
}

function leftovers(tmp: string): string[] {
  return fs.readdirSync(tmp).filter((f) => f.startsWith('edgetune-'));
}

async function scenario(a: Served, b: Served, tmp: string) {
  const before = [await contents(a.store), await contents(b.store)];
  const env = { TMPDIR: tmp };
  const run = async (s: Served, edge: ServeProcess) => {
    expect(await checkReadyAtOnce(edge.url, s)).toEqual([]);
    expect(await load(edge.url, s)).toEqual([]);
    // The process keeps answering after the load and the admin changes.
    expect((await fetch(new URL('/v2/health/live', edge.url))).status).toBe(200);
  };

  // One after the other.
  for (const s of [a, b]) {
    const edge = await spawnServe(s.storeUrl, env);
    try {
      await run(s, edge);
    } finally {
      expect(await edge.stop('SIGTERM'), edge.stderr()).toBe(0);
    }
    expect(leftovers(tmp)).toEqual([]);
  }

  // Both at once, on two ports.
  const [ea, eb] = await Promise.all([spawnServe(a.storeUrl, env), spawnServe(b.storeUrl, env)]);
  try {
    expect(ea.url.port).not.toBe(eb.url.port);
    await Promise.all([run(a, ea), run(b, eb)]);
  } finally {
    const codes = await Promise.all([ea.stop('SIGINT'), eb.stop('SIGTERM')]);
    expect(codes, `${ea.stderr()}\n${eb.stderr()}`).toEqual([0, 0]);
  }
  expect(leftovers(tmp)).toEqual([]);
  await checkStore(a, before[0]!);
  await checkStore(b, before[1]!);
}

async function seeded(tag: string, storeUrl: string, seedOffset: number): Promise<Served> {
  const store = openStore(storeUrl);
  return {
    tag,
    storeUrl,
    store,
    models: await seedStore(store, tag, seedOffset),
    lastRouting: new Map(),
    adminChanges: 0,
  };
}

describe('edgetune serve keeps stores apart', () => {
  let dir: string;
  let s3: RunningS3 | undefined;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgetune-serve-iso-'));
  });
  afterAll(async () => {
    await s3?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('on file:// stores', async () => {
    const a = await seeded('A', `file://${path.join(dir, 'store-A')}`, 0);
    const b = await seeded('B', `file://${path.join(dir, 'store-B')}`, 100);
    const tmp = fs.mkdtempSync(path.join(dir, 'tmp-file-'));
    await scenario(a, b, tmp);
  }, 900_000);

  it('on s3:// stores (two prefixes of one bucket on s3rver)', async () => {
    s3 = await startS3rver();
    const a = await seeded('A', s3.url('store-A'), 0);
    const b = await seeded('B', s3.url('store-B'), 100);
    const tmp = fs.mkdtempSync(path.join(dir, 'tmp-s3-'));
    await scenario(a, b, tmp);
  }, 900_000);
});
