/**
 * Latency histograms with fixed bucket bounds, so histograms written by any isolate, process or
 * time slot merge by adding counts. Percentiles are read back as the upper bound of the bucket
 * holding the nearest-rank sample: exact to the bucket, never interpolated between isolates.
 */

/** Upper bounds in milliseconds (inclusive); one more bucket holds everything above the last. */
export const LATENCY_BOUNDS_MS = [
  1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 80, 100, 120, 150, 200, 250, 300, 400, 500, 600,
  800, 1000, 1200, 1500, 2000, 2500, 3000, 4000, 5000, 6000, 8000, 10000, 15000, 20000, 30000, 60000,
] as const;

export const BUCKET_COUNT = LATENCY_BOUNDS_MS.length + 1;

export interface Histogram {
  /** `counts[i]` samples in bucket i (length BUCKET_COUNT). */
  counts: number[];
  sumMs: number;
  maxMs: number;
}

export const emptyHistogram = (): Histogram => ({
  counts: new Array(BUCKET_COUNT).fill(0),
  sumMs: 0,
  maxMs: 0,
});

export function bucketIndex(ms: number): number {
  const v = Math.max(0, ms);
  // 42 bounds: a linear scan is as fast as a binary search here and obviously right.
  for (let i = 0; i < LATENCY_BOUNDS_MS.length; i++) if (v <= LATENCY_BOUNDS_MS[i]!) return i;
  return LATENCY_BOUNDS_MS.length;
}

export function observe(h: Histogram, ms: number): void {
  h.counts[bucketIndex(ms)]! += 1;
  h.sumMs += ms;
  h.maxMs = Math.max(h.maxMs, ms);
}

export function mergeHistograms(a: Histogram, b: Histogram): Histogram {
  return {
    counts: a.counts.map((n, i) => n + (b.counts[i] ?? 0)),
    sumMs: a.sumMs + b.sumMs,
    maxMs: Math.max(a.maxMs, b.maxMs),
  };
}

export function histogramCount(h: Histogram): number {
  return h.counts.reduce((s, n) => s + n, 0);
}

/** What a percentile of samples in bucket `i` is reported as: its upper bound (the max beyond the last). */
export function bucketValue(i: number, maxMs: number): number {
  return i < LATENCY_BOUNDS_MS.length ? Math.min(LATENCY_BOUNDS_MS[i]!, maxMs) : maxMs;
}

/**
 * The nearest-rank q-quantile (0 < q ≤ 1), to bucket precision: the bucket holding the
 * ceil(q·n)-th smallest sample, reported by `bucketValue`. Null without samples.
 */
export function percentile(h: Histogram, q: number): number | null {
  const n = histogramCount(h);
  if (n === 0) return null;
  const rank = Math.max(1, Math.ceil(q * n));
  let seen = 0;
  for (let i = 0; i < h.counts.length; i++) {
    seen += h.counts[i]!;
    if (seen >= rank) return bucketValue(i, h.maxMs);
  }
  return h.maxMs;
}
