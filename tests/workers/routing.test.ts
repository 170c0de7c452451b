import { beforeAll, describe, expect, it } from 'vitest';
import { promote as registryPromote } from '../../shared/routing/operations.ts';
import { env } from 'cloudflare:workers';
import {
  call,
  createExecutionContext,
  fixtureImage,
  fixtures,
  publishFixtures,
  settle,
  store,
} from './fixtures.ts';

const MODEL = 'ab';
const TOKEN = 'test-admin-token';
const IMAGE = 'png-rgb-32x32';

function classify(
  headers: Record<string, string> = {},
  path = `/v1/models/${MODEL}/classify`,
  ctx?: ExecutionContext,
) {
  const image = fixtureImage(IMAGE);
  const init = {
    method: 'POST',
    headers: { 'content-type': image.contentType, ...headers },
    body: image.bytes,
  };
  return call(path, init, ctx);
}

function admin(
  method: string,
  path: string,
  body?: unknown,
  token: string | null = TOKEN,
  extra: Record<string, string> = {},
) {
  const headers: Record<string, string> = { ...extra };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  return call(`/admin/models/${MODEL}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function versionOf(res: Response): Promise<string> {
  expect(res.status).toBe(200);
  const json = (await res.json()) as { version: string };
  expect(res.headers.get('x-model-version')).toBe(json.version);
  return json.version;
}

describe('version routing, A/B, admin API', () => {
  beforeAll(async () => {
    expect(await publishFixtures(MODEL, 3)).toEqual(['v1', 'v2', 'v3']);
  });

  it('refuses the admin API without the right token (401 missing, 403 wrong)', async () => {
    const calls: [string, string, unknown?][] = [
      ['GET', '/routing'],
      ['PUT', '/routing', { stable: 'v1', candidates: [] }],
      ['POST', '/rollout', { version: 'v2', weight: 10 }],
      ['POST', '/promote', { version: 'v2' }],
      ['POST', '/rollback', {}],
      ['POST', '/shadow', { version: 'v2', sample: 0.5 }],
      ['DELETE', '/shadow'],
    ];
    for (const [method, path, body] of calls) {
      const missing = await admin(method, path, body, null);
      expect(missing.status, `${method} ${path}`).toBe(401);
      expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
      const wrong = await admin(method, path, body, 'not-the-token');
      expect(wrong.status, `${method} ${path}`).toBe(403);
      const almost = await admin(method, path, body, `${TOKEN}x`);
      expect(almost.status).toBe(403);
    }
    const malformed = await call(`/admin/models/${MODEL}/routing`, {
      headers: { authorization: 'Basic abc' },
    });
    expect(malformed.status).toBe(401);
    // Nothing changed.
    const routing = (await (await admin('GET', '/routing')).json()) as { routing: { stable: string } };
    expect(routing.routing).toMatchObject({ stable: 'v1', candidates: [] });
  });

  it('validates admin changes (unknown version 404, bad weight 400)', async () => {
    expect((await admin('POST', '/rollout', { version: 'v9', weight: 10 })).status).toBe(404);
    expect((await admin('POST', '/rollout', { version: 'v2', weight: 150 })).status).toBe(400);
    expect((await admin('POST', '/promote', { version: '../v1' })).status).toBe(400);
    expect(
      (await admin('PUT', '/routing', { stable: 'v1', candidates: [{ version: 'v2', weight: 101 }] })).status,
    ).toBe(400);
  });

  it('PUT routing honours If-Match: a stale ETag gets 412 and changes nothing', async () => {
    const read = async () =>
      (await (await admin('GET', '/routing')).json()) as { routing: { stable: string }; etag: string };
    const before = await read();
    const wanted = { stable: 'v1', candidates: [], shadow: null };
    const wrong = await admin('PUT', '/routing', wanted, TOKEN, { 'if-match': '"not-the-etag"' });
    expect(wrong.status).toBe(412);
    expect(((await wrong.json()) as { error: { code: string } }).error.code).toBe('precondition_failed');
    expect((await read()).etag).toBe(before.etag);
    const ok = await admin('PUT', '/routing', wanted, TOKEN, { 'if-match': before.etag });
    expect(ok.status).toBe(200);
    const after = await read();
    expect(after.etag).not.toBe(before.etag);
    // The ETag read before the change is stale now.
    expect((await admin('PUT', '/routing', wanted, TOKEN, { 'if-match': before.etag })).status).toBe(412);
    expect((await read()).etag).toBe(after.etag);
  });

  it('splits 2,000 user keys by the weights, sticky per key, and honours pins', async () => {
    const roll = await admin('POST', '/rollout', { version: 'v2', weight: 30 });
    expect(roll.status).toBe(200);
    expect(((await roll.json()) as { routing: unknown }).routing).toMatchObject({
      stable: 'v1',
      candidates: [{ version: 'v2', weight: 30 }],
    });
    const n = 2000;
    const assigned: string[] = [];
    for (let i = 0; i < n; i += 200) {
      const chunk = await Promise.all(
        Array.from({ length: 200 }, (_, j) => classify({ 'x-user-key': `user-${i + j}` }).then(versionOf)),
      );
      assigned.push(...chunk);
    }
    const v2 = assigned.filter((v) => v === 'v2').length;
    const sigma = Math.sqrt(n * 0.3 * 0.7);
    console.log(`A/B 70/30 over ${n} keys: v2 got ${v2} (expected ${n * 0.3} ± ${sigma.toFixed(1)})`);
    expect(assigned.every((v) => v === 'v1' || v === 'v2')).toBe(true);
    expect(Math.abs(v2 - n * 0.3)).toBeLessThan(4 * sigma);

    // Sticky: the same key gets the same version again.
    const again = await Promise.all(
      Array.from({ length: 300 }, (_, i) => classify({ 'x-user-key': `user-${i}` }).then(versionOf)),
    );
    expect(again).toEqual(assigned.slice(0, 300));

    // Without a key: weighted random, within bounds too.
    const anon = await Promise.all(Array.from({ length: 400 }, () => classify().then(versionOf)));
    const anonV2 = anon.filter((v) => v === 'v2').length;
    expect(Math.abs(anonV2 - 120)).toBeLessThan(4 * Math.sqrt(400 * 0.21));

    // Pins: header or path, any published version (v3 is not routed at all).
    expect(await versionOf(await classify({ 'x-model-version': 'v3', 'x-user-key': 'user-1' }))).toBe('v3');
    expect(await versionOf(await classify({}, `/v1/models/${MODEL}/versions/v3/classify`))).toBe('v3');
    const unknown = await classify({ 'x-model-version': 'v42' });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });

  it('promotes and rolls back while 600 requests are in flight: zero failures', async () => {
    const existing = new Set(['v1', 'v2', 'v3']);
    const inflight: Promise<{ status: number; version: string | null }>[] = [];
    const fire = (count: number) => {
      for (let i = 0; i < count; i++) {
        inflight.push(
          classify({ 'x-user-key': `load-${inflight.length}` }).then(async (r) => ({
            status: r.status,
            version: r.status === 200 ? ((await r.json()) as { version: string }).version : null,
          })),
        );
      }
    };
    fire(150);
    const p1 = admin('POST', '/promote', { version: 'v2' });
    fire(150);
    expect((await p1).status).toBe(200);
    fire(150);
    const p2 = admin('POST', '/promote', { version: 'v3' });
    fire(50);
    expect((await p2).status).toBe(200);
    fire(50);
    const rb = admin('POST', '/rollback');
    fire(50);
    const rolled = (await (await rb).json()) as { routing: { stable: string } };
    expect(rolled.routing.stable).toBe('v2');
    const results = await Promise.all(inflight);
    const byVersion: Record<string, number> = {};
    for (const r of results) byVersion[String(r.version)] = (byVersion[String(r.version)] ?? 0) + 1;
    console.log(
      `in flight during promote/promote/rollback: ${results.length} requests, by version`,
      byVersion,
    );
    expect(results.length).toBeGreaterThanOrEqual(500);
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    expect(results.every((r) => existing.has(r.version!))).toBe(true);
    expect(Object.keys(byVersion).length).toBeGreaterThanOrEqual(2);
    // After the rollback, v2 is stable again: v1 and v3 are no longer stable.
    const after = await Promise.all(Array.from({ length: 20 }, () => classify().then(versionOf)));
    expect(after.every((v) => v === 'v2')).toBe(true);
  });

  it('picks up a routing change made elsewhere within ROUTING_TTL_SECONDS', async () => {
    await versionOf(await classify()); // warm this isolate's routing cache
    await admin('PUT', '/routing', { stable: 'v1', candidates: [] });
    expect(await versionOf(await classify())).toBe('v1');
    await registryPromote(store(), MODEL, 'v3', { reason: 'test: as the CLI would' });
    // Poll with a deadline well past the 2 s TTL; how fast it happened is the bench's business.
    const deadline = Date.now() + 15_000;
    let seen = 'v1';
    while (seen !== 'v3' && Date.now() < deadline) {
      seen = await versionOf(await classify());
      if (seen !== 'v3') await new Promise((r) => setTimeout(r, 100));
    }
    expect(seen).toBe('v3');
  });

  it('mirrors to the shadow version without changing answers, and records agreement', async () => {
    await admin('PUT', '/routing', { stable: 'v1', candidates: [], shadow: { version: 'v3', sample: 1 } });
    // One ExecutionContext for the 20 requests, so their waitUntil work can be awaited.
    const ctx = createExecutionContext();
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => classify({}, undefined, ctx).then(versionOf)),
    );
    await settle(ctx);
    expect(answers.every((v) => v === 'v1')).toBe(true);
    const { references, exports } = fixtures();
    const labels = exports[0]!.manifest.labels;
    const top = (p: number[]) => labels[p.indexOf(Math.max(...p))];
    const ref1 = references[0]![IMAGE]!.probabilities;
    const ref3 = references[2]![IMAGE]!.probabilities;
    const expectedAgree = top(ref1) === top(ref3);
    const expectedDiff = Math.max(...ref1.map((p, k) => Math.abs(p - ref3[k]!)));
    type Counts = { compared: number; top1Agree: number; maxAbsDiff: number; errors: number };
    const res = await admin('GET', '/shadow/v3');
    const { stats } = (await res.json()) as { stats: { against: Record<string, Counts> } };
    const v1 = stats.against.v1!;
    // The counters live in R2 under the model.
    const stored = (await (await env.MODELS.get(`models/${MODEL}/shadow/v3.json`))!.json()) as typeof stats;
    expect(stored.against.v1).toEqual(v1);
    console.log(
      `shadow v3 vs v1: ${JSON.stringify(v1)} (expected top-1 agree: ${expectedAgree}, max |Δp| ${expectedDiff.toFixed(4)})`,
    );
    expect(v1.compared).toBe(20);
    expect(v1.errors).toBe(0);
    expect(v1.top1Agree).toBe(expectedAgree ? 20 : 0);
    expect(Math.abs(v1.maxAbsDiff - expectedDiff)).toBeLessThan(1e-4);
    await admin('DELETE', '/shadow');
  });
});
