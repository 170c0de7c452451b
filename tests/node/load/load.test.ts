/**
 * The short version of `npm run load`: the Worker in workerd under concurrent clients with admin
 * changes, session-cache churn and a corrupt version published mid-run. Zero unexpected 5xx or
 * 4xx, every answer names a real version, and the edge's own counters agree with the client.
 */
import { describe, expect, it } from 'vitest';
import { runLoad } from '../../../bench/load/run.ts';

describe('load and soak (short)', () => {
  it('answers 500 requests from 8 clients through promotes, rollbacks and a corrupt version', async () => {
    const r = await runLoad({
      requests: 500,
      clients: 8,
      adminEveryRequests: 50,
      corruptAfter: 0.3,
      maxSeconds: 400,
      cacheMb: 2,
    });
    console.log(JSON.stringify({ ...r, rows: r.rows.map((x) => `${x.model}@${x.version} ${x.requests}`) }));
    // 500 planned + 3 requests pinned to the corrupt version as soon as it is visible.
    expect(r.completed).toBe(503);
    expect(r.unexpected5xx).toBe(0);
    expect(r.unexpected4xx).toBe(0);
    expect(r.transportErrors).toBe(0);
    expect(r.unnamed).toBe(0);
    expect(r.expectedCorrupt).toBeGreaterThanOrEqual(3);
    expect(Object.keys(r.errorsByStatus)).toEqual(['500 checksum_mismatch']);
    const versions = r.rows.map((x) => `${x.model}@${x.version}`);
    expect(versions).toEqual(['load-a@v1', 'load-a@v2', 'load-a@v3', 'load-b@v1', 'load-b@v2']);
    for (const row of r.rows) expect(row.edgeCounted, `${row.model}@${row.version}`).toBe(row.requests);
    expect(r.rows.find((x) => x.version === 'v3')!.byStatus).toEqual({ '500': r.expectedCorrupt });
    expect(r.logLines).toBe(r.completed);
    // Nine admin changes (one per 50 requests, made while the other clients keep sending) and the
    // canary rollout of the corrupt version: every one answered and succeeded (no 409/412/5xx
    // from the routing CAS).
    expect(r.admin.failed).toEqual({});
    expect(r.admin.ok).toBe(10);
    // The cache budget is smaller than the four versions: sessions were evicted and reloaded.
    expect(r.cache.evictions).toBeGreaterThan(0);
    // Each engine session owns one wasm memory; onnxruntime-web one shared heap for all of its
    // sessions, and the WebP decoder, the JPEG decoder and the resize one each for the isolate,
    // plus the engine's one spare kernel instance (shared/engine/spare-kernels.ts: kept zeroed
    // for the next session): after all that churn (and a forced GC) those five and the resident
    // sessions' memories live — and, since the spare was added, one or two more kernel instances
    // that something still references (seen: 7 live with 0 and with 1 resident engine session, 8
    // with 2). Not a leak: `npm run load -- --requests 3000 --cache-mb 2` (1,073 evictions) ends
    // with the same count as this test's ~185 evictions; which reference holds them is not yet
    // found. The bound leaves room for three, and a memory per evicted session breaks it at once.
    expect(r.heap.end.wasmMemories).toBeLessThanOrEqual(5 + 3 + r.cache.residentEngineSessions);
  });
});
