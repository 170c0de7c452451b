/** Small statistics helpers for the bench (medians of repeated timings). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export const round = (x: number, digits = 1): number => Number(x.toFixed(digits));

export interface Timing {
  median_ms: number;
  p90_ms: number;
  runs: number;
}

export function timing(xs: readonly number[]): Timing {
  return { median_ms: round(median(xs), 2), p90_ms: round(percentile(xs, 90), 2), runs: xs.length };
}

/** Times `n` sequential calls of `fn` after `warmup` untimed ones. */
export async function timeRuns(fn: () => Promise<unknown>, warmup: number, n: number): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return out;
}
