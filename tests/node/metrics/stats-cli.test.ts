/**
 * Per-version metrics end to end, the way an operator reads them: the Worker in workerd
 * (startLocalEdge, R2 mirrored with a file store) answers weighted, sticky and pinned traffic,
 * flushes its counters, the mirror carries them into the store, and `edgetune models stats`
 * (a spawned CLI) prints counts and percentiles that match what the client saw.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LATENCY_BOUNDS_MS } from '../../../shared/metrics/histogram.ts';
import type { ModelStats } from '../../../shared/metrics/summary.ts';
import { publishVersion } from '../../../shared/registry/publish.ts';
import { rollout } from '../../../shared/routing/operations.ts';
import { type LocalEdge, startLocalEdge } from '../../../local-edge/local-edge.ts';
import { FileStore } from '../../../shared/store/node/file.ts';
import { EDGE_SEEDS, edgeExport, edgeImages } from '../../../bench/edge-models.ts';
import { runCli } from '../cli-helper.ts';

const MODEL = 'stats-cnn';

function expectedPercentile(samples: number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const exact = sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
  return Math.min(LATENCY_BOUNDS_MS.find((b) => b >= exact) ?? Number.POSITIVE_INFINITY, sorted.at(-1)!);
}

describe('edgetune models stats', () => {
  let dir: string;
  let store: FileStore;
  let edge: LocalEdge;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'edgetune-stats-'));
    store = new FileStore(path.join(dir, 'store'));
    for (const seed of EDGE_SEEDS.slice(0, 2)) {
      const exp = edgeExport(seed);
      await publishVersion(store, MODEL, { manifest: { ...exp.manifest, name: MODEL }, files: exp.files });
    }
    await rollout(store, MODEL, 'v2', 50, { reason: 'test: stats' });
    edge = await startLocalEdge(store, {
      port: 0,
      persistDir: path.join(dir, 'r2'),
      syncIntervalMs: 0,
      vars: { METRICS_FLUSH_SECONDS: '1', REQUEST_LOG: 'off' },
    });
  });

  afterAll(async () => {
    await edge?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('shows the requests the client sent, per version, with matching percentiles', async () => {
    const image = edgeImages().find((i) => i.id === 'png-rgb-48x40')!;
    const seen: { version: string; route: string; totalMs: number }[] = [];
    const post = async (url: string, headers: Record<string, string>) => {
      const res = await fetch(new URL(url, edge.url), {
        method: 'POST',
        headers: { 'content-type': image.contentType, ...headers },
        body: image.bytes as Uint8Array<ArrayBuffer>,
      });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      const total = /total;dur=([0-9.]+)/.exec(res.headers.get('server-timing') ?? '');
      seen.push({
        version: res.headers.get('x-model-version')!,
        route: res.headers.get('x-model-route')!,
        totalMs: Number(total![1]),
      });
    };
    for (let i = 0; i < 48; i++) await post(`/v1/models/${MODEL}/classify`, { 'x-user-key': `user-${i}` });
    for (let i = 0; i < 6; i++) await post(`/v1/models/${MODEL}/embed`, {});
    for (let i = 0; i < 6; i++) await post(`/v1/models/${MODEL}/versions/v1/classify`, {});
    const storeArgs = ['--store', `file://${path.join(dir, 'store')}`];

    // The edge flushes within METRICS_FLUSH_SECONDS; the mirror then carries metrics/ to the store.
    let stats: ModelStats | null = null;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      await edge.sync();
      const run = await runCli(['models', 'stats', MODEL, '--window', '1h', '--json', ...storeArgs]);
      expect(run.code, run.stderr).toBe(0);
      stats = JSON.parse(run.stdout) as ModelStats;
      if (stats.versions.reduce((s, v) => s + v.requests, 0) >= seen.length) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(stats).not.toBeNull();
    const versions = [...new Set(seen.map((s) => s.version))].sort();
    expect(versions).toEqual(['v1', 'v2']);
    expect(stats!.versions.map((v) => v.version)).toEqual(versions);
    for (const v of stats!.versions) {
      const mine = seen.filter((s) => s.version === v.version);
      const totals = mine.map((s) => s.totalMs);
      const routes: Record<string, number> = {};
      for (const s of mine) routes[s.route] = (routes[s.route] ?? 0) + 1;
      expect(v.requests, v.version).toBe(mine.length);
      expect(v.errors).toBe(0);
      expect(v.byStatus).toEqual({ '200': mine.length });
      expect(v.byReason).toEqual(routes);
      expect(v.latencyMs.p50).toBe(expectedPercentile(totals, 0.5));
      expect(v.latencyMs.p95).toBe(expectedPercentile(totals, 0.95));
      expect(v.latencyMs.p99).toBe(expectedPercentile(totals, 0.99));
    }
    expect(stats!.versions[0]!.byReason.pinned).toBe(6);

    const text = await runCli(['models', 'stats', MODEL, ...storeArgs]);
    expect(text.code).toBe(0);
    const v1 = stats!.versions[0]!;
    expect(text.stdout).toMatch(new RegExp(`^v1\\s+${v1.requests}\\s+0\\s+${v1.latencyMs.p50}\\s`, 'm'));
  });

  it('names the bad value in a one-line error', async () => {
    const run = await runCli(['models', 'stats', MODEL, '--window', 'abc', '--store', `file://${dir}/store`]);
    expect(run.code).not.toBe(0);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toContain('"abc"');
  });
});
