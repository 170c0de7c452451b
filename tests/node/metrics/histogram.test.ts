import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  emptyHistogram,
  LATENCY_BOUNDS_MS,
  mergeHistograms,
  observe,
  percentile,
} from '../../../shared/metrics/histogram.ts';
import { countersOf, MetricsSlotSchema, type RequestEvent } from '../../../shared/metrics/schema.ts';
import { parseWindow, readModelStats } from '../../../shared/metrics/summary.ts';
import { readJson } from '../../../shared/store/json.ts';
import { keys, parseMetricsSlotKey } from '../../../shared/store/keys.ts';
import { MergeBuffer } from '../../../shared/store/merge-buffer.ts';
import { createRng } from '../../../shared/random.ts';
import { FileStore } from '../../../shared/store/node/file.ts';
import { addVersions } from '../../../shared/metrics/schema.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Nearest-rank percentile of raw samples, rounded up to the bucket bound (capped at the max). */
function reference(samples: number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const exact = sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
  return Math.min(LATENCY_BOUNDS_MS.find((b) => b >= exact) ?? Number.POSITIVE_INFINITY, sorted.at(-1)!);
}

describe('latency histogram', () => {
  it('merged histograms give the percentiles of all samples together', () => {
    const rng = createRng(7);
    const parts = [300, 1000, 17].map((n, k) =>
      Array.from({ length: n }, () => 0.5 + rng() ** 3 * 400 * (k + 1)),
    );
    const hs = parts.map((xs) => {
      const h = emptyHistogram();
      for (const x of xs) observe(h, x);
      return h;
    });
    const merged = hs.reduce(mergeHistograms);
    const all = parts.flat();
    for (const q of [0.5, 0.9, 0.95, 0.99, 1])
      expect(percentile(merged, q), `q=${q}`).toBe(reference(all, q));
    expect(merged.maxMs).toBe(Math.max(...all));
    expect(percentile(emptyHistogram(), 0.5)).toBeNull();
    const slow = emptyHistogram();
    observe(slow, 90_000);
    expect(percentile(slow, 0.99)).toBe(90_000);
  });

  it('parses windows and rejects anything else with the value in the message', () => {
    expect(parseWindow('1h')).toBe(3_600_000);
    expect(parseWindow('90s')).toBe(90_000);
    expect(parseWindow('7d')).toBe(7 * 86_400_000);
    for (const bad of ['', '1', 'h', '0m', '-1h', '1.5h', '40d', '1 hour'])
      expect(() => parseWindow(bad), bad).toThrow(JSON.stringify(bad));
  });

  it('names slot objects under metrics/{model}/ and parses them back', () => {
    const key = keys.metricsSlot('digits', new Date('2026-12-05T04:45:00Z'));
    expect(key).toBe('metrics/digits/2026-12-05T04-45Z.json');
    expect(parseMetricsSlotKey(key)).toEqual({ name: 'digits', slotStart: new Date('2026-12-05T04:45:00Z') });
    expect(parseMetricsSlotKey('metrics/digits/notes.txt')).toBeNull();
  });
});

describe('metric counters merged into a store', () => {
  it('loses no count when several writers flush into the same slot at once (compare-and-swap)', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'edgetune-metrics-'));
    dirs.push(dir);
    const store = new FileStore(dir);
    const now = new Date();
    const key = keys.metricsSlot('m', new Date(Math.floor(now.getTime() / 300_000) * 300_000));
    const spec = {
      schema: MetricsSlotSchema,
      label: 'test metrics',
      add: (a: Delta, b: Delta) => ({ versions: addVersions(a.versions, b.versions) }),
      apply: (cur: ReturnType<typeof MetricsSlotSchema.parse> | null, d: Delta) => ({
        schema: 1 as const,
        model: 'm',
        slotStart: parseMetricsSlotKey(key)!.slotStart.toISOString(),
        slotSeconds: 300,
        versions: addVersions(cur?.versions ?? {}, d.versions),
        updatedAt: new Date().toISOString(),
      }),
    };
    type Delta = { versions: ReturnType<typeof addVersions> };
    const writers = Array.from({ length: 4 }, () => new MergeBuffer(store, spec, 50));
    const latencies: number[] = [];
    for (let round = 0; round < 3; round++) {
      writers.forEach((w, i) => {
        for (let k = 0; k < 25; k++) {
          const ms = 1 + ((i * 37 + k * 13 + round * 7) % 90);
          latencies.push(ms);
          const event: RequestEvent = {
            model: 'm',
            version: k % 5 === 0 ? 'v2' : 'v1',
            endpoint: 'classify',
            reason: k % 5 === 0 ? 'weighted' : 'sticky',
            engine: 'edgetune-wasm',
            status: k === 3 ? 500 : 200,
            totalMs: ms,
            loadMs: 0,
            preprocessMs: 0,
            inferenceMs: ms,
          };
          w.record(key, { versions: { [event.version!]: countersOf(event) } });
        }
      });
      await Promise.all(writers.map((w) => w.flush()));
    }
    const doc = (await readJson(store, key, MetricsSlotSchema))!.value;
    expect(doc.versions.v1!.requests + doc.versions.v2!.requests).toBe(4 * 25 * 3);
    expect(doc.versions.v2!.requests).toBe(4 * 5 * 3);
    expect(doc.versions.v1!.errors).toBe(4 * 3);
    const stats = await readModelStats(store, 'm', { windowMs: 3_600_000, now });
    const v1 = stats.versions.find((v) => v.version === 'v1')!;
    expect(v1.byStatus).toEqual({ '200': 240 - 12, '500': 12 });
    expect(stats.window.slots).toBe(1);
    // Outside the window nothing is counted.
    const later = await readModelStats(store, 'm', {
      windowMs: 60_000,
      now: new Date(now.getTime() + 3_600_000),
    });
    expect(later.versions).toEqual([]);
  });
});
