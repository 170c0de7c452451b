import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { createBackend } from '../../functions/runtime/backends.ts';
import { type EngineMode, ModelCache } from '../../functions/runtime/models.ts';
import { FULL_BACKENDS } from '../../functions/runtime/ort-backend.ts';
import { registrySource } from '../../functions/runtime/services.ts';
import { publishVersion } from '../../shared/registry/publish.ts';
import { call, fixtureImage, fixtures, fromBase64, publishFixtures, store } from './fixtures.ts';

const MODEL = 'cache';
const BROKEN = 'broken';
const TOKEN = 'test-admin-token';

function newCache(budgetBytes: number, counter?: { creates: number }, engine: EngineMode = 'auto') {
  return new ModelCache({
    source: registrySource(store()),
    budgetBytes,
    routingTtlMs: 60_000,
    engine,
    // The cache's own behaviour, with both engines (the optimized-graph case needs onnxruntime-web).
    backends: FULL_BACKENDS,
    createBackend: async (kind, bytes, optimized) => {
      if (counter) counter.creates++;
      return createBackend(FULL_BACKENDS, kind, bytes, optimized);
    },
  });
}

describe('per-isolate model cache', () => {
  beforeAll(async () => {
    await publishFixtures(MODEL, 3);
    await publishFixtures(BROKEN, 3);
    // v2's bytes are replaced after publishing: its manifest checksum no longer matches.
    const good = await env.MODELS.get(`models/${BROKEN}/versions/v2/model.onnx`);
    const bytes = new Uint8Array(await good!.arrayBuffer());
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    await env.MODELS.put(`models/${BROKEN}/versions/v2/model.onnx`, bytes);
  });

  it('loads a version once for many concurrent callers (single flight)', async () => {
    const counter = { creates: 0 };
    const cache = newCache(64 * 1024 * 1024, counter);
    const sessions = await Promise.all(Array.from({ length: 25 }, () => cache.load(MODEL, 'v1')));
    expect(counter.creates).toBe(1);
    expect(new Set(sessions).size).toBe(1);
    expect(cache.stats()).toMatchObject({
      loads: 1,
      sessions: [{ key: `${MODEL}@v1`, file: 'model.onnx', engine: 'edgetune-wasm' }],
    });
  });

  it('evicts the least recently used session past the memory budget', async () => {
    const probe = newCache(1024 * 1024 * 1024);
    const cost = (await probe.load(MODEL, 'v1')).cost;
    // Room for two sessions, not three.
    const cache = newCache(Math.floor(cost * 2.5));
    await cache.load(MODEL, 'v1');
    await cache.load(MODEL, 'v2');
    await cache.use(MODEL, 'v1', async () => undefined); // v1 is now more recent than v2
    await cache.load(MODEL, 'v3');
    const stats = cache.stats();
    expect(stats.evictions).toBe(1);
    expect(stats.sessions.map((s) => s.key).sort()).toEqual([`${MODEL}@v1`, `${MODEL}@v3`]);
    expect(stats.usedBytes).toBeLessThanOrEqual(stats.budgetBytes);
    // An evicted version loads again on demand.
    await cache.load(MODEL, 'v2');
    expect(cache.stats().loads).toBe(4);
  });

  it('keeps a session alive while a request uses it, even when evicted meanwhile', async () => {
    const cache = newCache(1); // nothing fits: every new load evicts the others
    const result = await cache.use(MODEL, 'v1', async (session) => {
      await cache.load(MODEL, 'v2'); // evicts v1 while it is leased
      const out = await session.run(new Float32Array(3072), [1, 3, 32, 32]);
      return Array.from(out.probabilities);
    });
    expect(result).toHaveLength(4);
    expect(result.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  });

  it('keeps the last good routing when the routing document turns corrupt', async () => {
    const key = `models/${MODEL}/routing.json`;
    const good = await (await env.MODELS.get(key))!.text();
    const cache = new ModelCache({
      source: registrySource(store()),
      budgetBytes: 1 << 26,
      routingTtlMs: 0,
      backends: FULL_BACKENDS,
    });
    expect((await cache.routing(MODEL)).doc?.stable).toBe('v1');
    await env.MODELS.put(key, '{"stable": 42');
    try {
      expect((await cache.routing(MODEL)).doc?.stable).toBe('v1');
      const fresh = new ModelCache({
        source: registrySource(store()),
        budgetBytes: 1 << 26,
        routingTtlMs: 0,
        backends: FULL_BACKENDS,
      });
      await expect(fresh.routing(MODEL)).rejects.toMatchObject({ code: 'corrupt' });
    } finally {
      await env.MODELS.put(key, good);
    }
  });

  it('callers during a routing re-read wait for it and take its view, without reading again', async () => {
    // A request must never await a read another request started (shared/own-wait.ts): callers
    // during the held read wait on ticks of their own. Nor may they answer from the view the TTL
    // just expired: with a TTL of 0 every call after the first must see a read that began after it.
    const source = registrySource(store());
    let reads = 0;
    let hold: Promise<void> = Promise.resolve();
    const cache = new ModelCache({
      source: {
        ...source,
        readRouting: async (name) => {
          reads++;
          await hold;
          return source.readRouting(name);
        },
      },
      budgetBytes: 1 << 26,
      routingTtlMs: 0,
      backends: FULL_BACKENDS,
    });
    const first = await cache.routing(MODEL);
    expect(reads).toBe(1);
    let release = () => {};
    hold = new Promise<void>((r) => {
      release = r;
    });
    const rereading = cache.routing(MODEL);
    expect(reads).toBe(2);
    const waiting = [cache.routing(MODEL), cache.routing(MODEL)];
    const answered: string[] = [];
    for (const w of waiting) void w.then(() => answered.push('waiter'));
    void rereading.then(() => answered.push('reader'));
    release();
    const fresh = await rereading;
    const views = await Promise.all(waiting);
    expect(fresh).not.toBe(first);
    expect(views).toEqual([fresh, fresh]);
    expect(views[0]).toBe(fresh);
    expect(views[1]).toBe(fresh);
    expect(reads).toBe(2);
    expect(answered[0]).toBe('reader');
  });

  it("onnxruntime-web prefers the manifest's optimized graph; the engine runs the plain export", async () => {
    const exp = fixtures().exports[0]!;
    const model = fromBase64(exp.files['model.onnx']!);
    // Stand-in for an offline-optimised graph: the same bytes under their own name and checksum entry.
    const manifest = {
      ...exp.manifest,
      name: 'optimized',
      optimized: { ...exp.manifest.model, file: 'model.opt.onnx' },
    };
    await publishVersion(store(), 'optimized', {
      manifest,
      files: { 'model.onnx': model, 'model.opt.onnx': model },
    });
    const ort = await newCache(64 * 1024 * 1024, undefined, 'onnxruntime').load('optimized', 'v1');
    expect([ort.file, ort.engine]).toEqual(['model.opt.onnx', 'onnxruntime-web']);
    // The optimised graph may hold com.microsoft ops the engine lacks: it reads model.onnx.
    const engine = await newCache(64 * 1024 * 1024).load('optimized', 'v1');
    expect([engine.file, engine.engine]).toEqual(['model.onnx', 'edgetune-wasm']);
  });

  it('counts what an engine session holds, including memory planned for a new batch size', async () => {
    const cache = newCache(1 << 30);
    const session = await cache.load(MODEL, 'v1');
    const before = cache.stats();
    const modelBytes = fixtures().exports[0]!.manifest.model.size;
    // wasm memory (≥ one 64 KiB page) plus the decoded graph the engine keeps
    expect(before.usedBytes).toBe(session.cost);
    expect(session.cost).toBeGreaterThanOrEqual(65536 + modelBytes);
    expect(session.cost).toBeLessThan(4 * 2 ** 20);
    // A 16-image batch plans a larger arena: the cache sees the session grow.
    await cache.use(MODEL, 'v1', (s) => s.run(new Float32Array(16 * 3072), [16, 3, 32, 32]));
    expect(cache.stats().usedBytes).toBeGreaterThan(before.usedBytes);
  });

  it('refuses a version whose bytes do not match the manifest checksum', async () => {
    const counter = { creates: 0 };
    const cache = newCache(64 * 1024 * 1024, counter);
    await expect(cache.load(BROKEN, 'v2')).rejects.toMatchObject({
      code: 'checksum_mismatch',
      message: expect.stringContaining(`${BROKEN}@v2 refused`),
    });
    // Remembered: no second download or session attempt while the refusal lasts.
    await expect(cache.load(BROKEN, 'v2')).rejects.toMatchObject({ code: 'checksum_mismatch' });
    expect(counter.creates).toBe(0);
    expect(cache.stats().refused).toEqual([`${BROKEN}@v2`]);
  });

  it('keeps serving the previous version when a corrupt version is promoted', async () => {
    const image = fixtureImage('png-rgb-32x32');
    const classify = (headers: Record<string, string> = {}) =>
      call(`/v1/models/${BROKEN}/classify`, {
        method: 'POST',
        headers: { 'content-type': image.contentType, ...headers },
        body: image.bytes,
      });
    const before = await classify();
    expect(before.headers.get('x-model-version')).toBe('v1');
    const promoted = await call(`/admin/models/${BROKEN}/promote`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ version: 'v2' }),
    });
    expect(promoted.status).toBe(200);
    for (let i = 0; i < 5; i++) {
      const res = await classify({ 'x-user-key': `u${i}` });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-model-version')).toBe('v1');
      expect(res.headers.get('x-model-route')).toBe('fallback');
    }
    // Asking for v2 explicitly names the problem.
    const pinned = await classify({ 'x-model-version': 'v2' });
    expect(pinned.status).toBe(500);
    expect(((await pinned.json()) as { error: { code: string; message: string } }).error).toMatchObject({
      code: 'checksum_mismatch',
      message: expect.stringContaining('refused'),
    });
    // A sound version promoted afterwards serves normally.
    await call(`/admin/models/${BROKEN}/promote`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ version: 'v3' }),
    });
    const fixed = await classify();
    expect(fixed.headers.get('x-model-version')).toBe('v3');
    expect(fixed.headers.get('x-model-route')).toBe('weighted');
  });
});
