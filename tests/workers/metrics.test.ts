import { env } from 'cloudflare:workers';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LATENCY_BOUNDS_MS } from '../../shared/metrics/histogram.ts';
import { rollout } from '../../shared/routing/operations.ts';
import {
  call,
  callWithVars,
  createExecutionContext,
  fixtureImage,
  publishFixtures,
  settle,
  store,
} from './fixtures.ts';

const MODEL = 'metrics';
const ADMIN = { authorization: 'Bearer test-admin-token' };
const IMAGE = 'png-rgb-32x32';
/** The tests' env turns the request log off (vitest.config.ts says why); these requests log. */
const LOGGED = { REQUEST_LOG: 'json' };

interface Sent {
  status: number;
  version: string | null;
  route: string | null;
  engine: string | null;
  totalMs: number | null;
  /** The request's execution context: its log line is written in its waitUntil, after the response. */
  ctx: ExecutionContext;
}

async function send(
  path: string,
  headers: Record<string, string> = {},
  body?: Uint8Array<ArrayBuffer>,
): Promise<Sent> {
  const image = fixtureImage(IMAGE);
  const ctx = createExecutionContext();
  const res = await callWithVars(
    LOGGED,
    path,
    {
      method: 'POST',
      headers: { 'content-type': image.contentType, ...headers },
      body: body ?? image.bytes,
    },
    ctx,
  );
  await res.arrayBuffer();
  const total = /total;dur=([0-9.]+)/.exec(res.headers.get('server-timing') ?? '');
  return {
    status: res.status,
    version: res.headers.get('x-model-version'),
    route: res.headers.get('x-model-route'),
    engine: res.headers.get('x-engine'),
    totalMs: total ? Number(total[1]) : null,
    ctx,
  };
}

function groupBy<T>(xs: T[], key: (x: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const x of xs) out.set(key(x), [...(out.get(key(x)) ?? []), x]);
  return out;
}

/** Nearest-rank percentile of the raw samples, rounded up to the histogram's bucket bound. */
function expectedPercentile(samples: number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const exact = sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
  const bound = LATENCY_BOUNDS_MS.find((b) => b >= exact) ?? Number.POSITIVE_INFINITY;
  return Math.min(bound, sorted[sorted.length - 1]!);
}

interface StatsBody {
  model: string;
  requestsSource: string;
  versions: {
    version: string;
    requests: number;
    errors: number;
    byStatus: Record<string, number>;
    byReason: Record<string, number>;
    byEngine: Record<string, number>;
    latencyMs: { p50: number; p95: number; p99: number; max: number };
  }[];
}

describe('per-version request metrics', () => {
  const logLines: string[] = [];
  beforeAll(async () => {
    expect(await publishFixtures(MODEL, 2)).toEqual(['v1', 'v2']);
    await rollout(store(), MODEL, 'v2', 40, { reason: 'test: metrics A/B' });
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      logLines.push(args.map(String).join(' '));
    });
  });
  afterAll(() => vi.restoreAllMocks());

  it('logs one JSON line per request and the stats endpoint counts exactly what was sent', async () => {
    const sent: Sent[] = [];
    for (let i = 0; i < 60; i++)
      sent.push(await send(`/v1/models/${MODEL}/classify`, { 'x-user-key': `u${i}` }));
    for (let i = 0; i < 10; i++) sent.push(await send(`/v1/models/${MODEL}/embed`));
    for (let i = 0; i < 8; i++) sent.push(await send(`/v1/models/${MODEL}/versions/v2/classify`));
    // Caller mistakes before any version answered: logged, but counted against no version.
    sent.push(await send(`/v1/models/${MODEL}/classify`, {}, new Uint8Array([1, 2, 3])));
    sent.push(await send(`/v1/models/${MODEL}/versions/v9/classify`));
    sent.push(await send('/v1/models/no-such-model/classify'));
    await Promise.all(sent.map((s) => settle(s.ctx)));

    const lines = logLines
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((e) => e.event === 'inference');
    expect(lines).toHaveLength(sent.length);
    for (const l of logLines.filter((x) => x.startsWith('{"event":"inference"')))
      expect(l).not.toContain('\n');
    lines.forEach((line, i) => {
      const s = sent[i]!;
      expect(line.status).toBe(s.status);
      if (s.version) {
        expect(line).toMatchObject({ model: MODEL, version: s.version, reason: s.route, engine: s.engine });
        expect(line.totalMs).toBe(s.totalMs);
      }
    });
    expect(lines.at(-3)).toMatchObject({ status: 415, version: null, reason: null });
    expect(lines.at(-2)).toMatchObject({ status: 404, version: null });
    expect(lines.at(-1)).toMatchObject({ model: 'no-such-model', status: 404, version: null });

    const res = await callWithVars(LOGGED, `/admin/models/${MODEL}/stats?window=1h`, { headers: ADMIN });
    expect(res.status).toBe(200);
    const stats = (await res.json()) as StatsBody;
    expect(stats.requestsSource).toBe('store');
    const answered = sent.filter((s) => s.version !== null);
    expect(answered.every((s) => s.status === 200 && s.totalMs !== null)).toBe(true);
    const byVersion = groupBy(answered, (s) => s.version!);
    expect(new Set(byVersion.keys())).toEqual(new Set(['v1', 'v2']));
    expect(stats.versions.map((v) => v.version)).toEqual(['v1', 'v2']);
    for (const v of stats.versions) {
      const mine = byVersion.get(v.version)!;
      const totals = mine.map((s) => s.totalMs!);
      const routes = Object.fromEntries([...groupBy(mine, (s) => s.route!)].map(([r, xs]) => [r, xs.length]));
      expect(v.requests, v.version).toBe(mine.length);
      expect(v.errors).toBe(0);
      expect(v.byStatus).toEqual({ '200': mine.length });
      expect(v.byReason).toEqual(routes);
      expect(Object.values(v.byEngine).reduce((a, b) => a + b, 0)).toBe(mine.length);
      expect(v.latencyMs.p50).toBe(expectedPercentile(totals, 0.5));
      expect(v.latencyMs.p95).toBe(expectedPercentile(totals, 0.95));
      expect(v.latencyMs.p99).toBe(expectedPercentile(totals, 0.99));
      expect(v.latencyMs.max).toBe(Math.max(...totals));
    }
    // Both weighted and sticky-by-key traffic and the pinned requests reached the counters.
    expect(stats.versions[1]!.byReason.pinned).toBe(8);

    // What the endpoint summarised is what the store holds (an edge-owned metrics/ object).
    const listed = await env.MODELS.list({ prefix: `metrics/${MODEL}/` });
    expect(listed.objects.length).toBeGreaterThanOrEqual(1);
    expect((await env.MODELS.list({ prefix: 'metrics/no-such-model/' })).objects).toHaveLength(0);
  });

  it('sends one Analytics Engine data point per request when the dataset is bound, not store counters', async () => {
    const points: AnalyticsEngineDataPoint[] = [];
    const dataset: AnalyticsEngineDataset = { writeDataPoint: (p) => void (p && points.push(p)) };
    const before = (await env.MODELS.list({ prefix: `metrics/${MODEL}/` })).objects.map((o) => o.etag);
    const image = fixtureImage(IMAGE);
    const vars = { ...LOGGED, METRICS: dataset, METRICS_FLUSH_SECONDS: '0' };
    const statuses: number[] = [];
    const contexts: ExecutionContext[] = [];
    const logged = logLines.length;
    for (let i = 0; i < 5; i++) {
      const ctx = createExecutionContext();
      contexts.push(ctx);
      const res = await callWithVars(
        vars,
        `/v1/models/${MODEL}/versions/v1/classify`,
        { method: 'POST', headers: { 'content-type': image.contentType }, body: image.bytes },
        ctx,
      );
      statuses.push(res.status);
      await res.arrayBuffer();
    }
    await Promise.all(contexts.map(settle));
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    expect(points).toHaveLength(5);
    // The log line is written beside the data point.
    expect(logLines.slice(logged).filter((l) => l.startsWith('{"event":"inference"'))).toHaveLength(5);
    for (const p of points) {
      expect(p.indexes).toEqual([MODEL]);
      expect(p.blobs?.slice(0, 4)).toEqual([MODEL, 'v1', 'classify', 'pinned']);
      expect(p.doubles?.[0]).toBe(200);
      expect(p.doubles?.[1]).toBeGreaterThanOrEqual(0);
    }
    const stats = await callWithVars(vars, `/admin/models/${MODEL}/stats`, { headers: ADMIN });
    expect(((await stats.json()) as StatsBody).requestsSource).toBe('analytics-engine');
    const after = (await env.MODELS.list({ prefix: `metrics/${MODEL}/` })).objects.map((o) => o.etag);
    expect(after).toEqual(before);
  });

  it('rejects a malformed window and needs the admin token', async () => {
    const bad = await call(`/admin/models/${MODEL}/stats?window=soon`, { headers: ADMIN });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toContain('"soon"');
    expect((await call(`/admin/models/${MODEL}/stats`)).status).toBe(401);
  });
});
