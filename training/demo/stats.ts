/** Latency summaries measured at the client (the Worker's own clocks freeze in production). */
export interface LatencyStats {
  n: number;
  medianMs: number;
  p90Ms: number;
  minMs: number;
  maxMs: number;
}

/** Nearest-rank percentile of an ascending list. */
function percentile(sorted: readonly number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

export function latencyStats(samplesMs: readonly number[]): LatencyStats {
  if (samplesMs.length === 0) throw new Error('latencyStats: no samples');
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const round = (x: number) => Math.round(x * 10) / 10;
  return {
    n: sorted.length,
    medianMs: round(percentile(sorted, 50)),
    p90Ms: round(percentile(sorted, 90)),
    minMs: round(sorted[0]!),
    maxMs: round(sorted[sorted.length - 1]!),
  };
}

export function describeLatency(s: LatencyStats): string {
  return `median ${s.medianMs} ms, p90 ${s.p90Ms} ms (n=${s.n}, min ${s.minMs}, max ${s.maxMs})`;
}
