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
    // Every wasm memory alive after all that churn (read after a forced GC) is accounted for,
    // exactly. Engine kernel memories: one per session that holds kernels (every resident engine
    // session, no other) plus the zeroed spares (shared/engine/spare-kernels.ts), as the Worker
    // counts them; sessions evicted since were given back, and their instances that were not kept
    // as the spare were dropped and collected. The other memories: libwebp's decoder, the JPEG
    // decoder's and the resize kernels' instances (each codec keeps one while its memory stays
    // small, as with these images), all exported by their instances; and onnxruntime-web's one
    // heap for all its sessions, which its glue creates and imports. A memory kept by an evicted
    // session, or any other memory nobody accounts for, breaks one of these.
    const k = r.cache.kernels;
    // Before any request: the start-up warm-ups' engine spare and the three codec instances
    // (functions/runtime/warmup.ts runs a tiny PNG, JPEG and WebP through them at global scope).
    expect(r.heap.start.byOwner).toEqual({ engineKernels: 1, otherInstances: 3, notExported: 0 });
    expect(k.dropped).toBeGreaterThan(0);
    expect(k.inUse).toBe(r.cache.residentEngineSessions);
    expect(k.spares).toBeLessThanOrEqual(1);
    expect(k.instantiated + k.reused).toBe(k.inUse + k.kept + k.dropped);
    expect(r.heap.end.byOwner).toEqual({
      engineKernels: k.inUse + k.spares,
      otherInstances: 3,
      notExported: 1,
    });
    expect(r.heap.end.wasmMemories).toBe(4 + k.inUse + k.spares);
  });
});
