/**
 * What the edge records per request and the per-version counters it flushes to the store
 * (`metrics/{model}/{slot}.json`, one object per model per METRICS_SLOT_SECONDS).
 */
import { z } from 'zod';
import { NAME_PATTERN } from '../names.ts';
import { BUCKET_COUNT, emptyHistogram, type Histogram, mergeHistograms, observe } from './histogram.ts';

/** Slot length: a `--window` is answered with whole slots, so this is its resolution. */
export const METRICS_SLOT_SECONDS = 300;

export function slotStart(at: Date): Date {
  const ms = METRICS_SLOT_SECONDS * 1000;
  return new Date(Math.floor(at.getTime() / ms) * ms);
}

/** One answered inference request, as the log line and Analytics Engine data point carry it. */
export interface RequestEvent {
  model: string;
  /** The version that answered (or was pinned); null when none was chosen (e.g. unknown model). */
  version: string | null;
  endpoint: 'classify' | 'embed' | 'infer';
  /** pinned, sticky, weighted, newest or fallback; null when no version answered. */
  reason: string | null;
  engine: string | null;
  status: number;
  /** Whole request inside the Worker; load + preprocess + inference when a version answered. */
  totalMs: number;
  loadMs: number | null;
  preprocessMs: number | null;
  inferenceMs: number | null;
}

const Count = z.number().int().nonnegative();

const HistogramSchema = z.object({
  counts: z.array(Count).length(BUCKET_COUNT),
  sumMs: z.number().nonnegative(),
  maxMs: z.number().nonnegative(),
});

export const VersionCountersSchema = z.object({
  requests: Count,
  /** Answers with status ≥ 500. */
  errors: Count,
  byStatus: z.record(z.string().regex(/^[1-5][0-9]{2}$/), Count),
  byReason: z.record(z.string().max(32), Count),
  byEngine: z.record(z.string().max(64), Count),
  latency: HistogramSchema,
});
export type VersionCounters = z.infer<typeof VersionCountersSchema>;

export const MetricsSlotSchema = z.object({
  schema: z.literal(1),
  model: z.string().regex(NAME_PATTERN),
  slotStart: z.string().datetime(),
  slotSeconds: z.number().int().positive(),
  versions: z.record(z.string().regex(NAME_PATTERN), VersionCountersSchema),
  updatedAt: z.string().datetime(),
});
export type MetricsSlot = z.infer<typeof MetricsSlotSchema>;

export const emptyCounters = (): VersionCounters => ({
  requests: 0,
  errors: 0,
  byStatus: {},
  byReason: {},
  byEngine: {},
  latency: emptyHistogram(),
});

function addRecord(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out = { ...a };
  for (const [k, n] of Object.entries(b)) out[k] = (out[k] ?? 0) + n;
  return out;
}

export function addCounters(a: VersionCounters, b: VersionCounters): VersionCounters {
  return {
    requests: a.requests + b.requests,
    errors: a.errors + b.errors,
    byStatus: addRecord(a.byStatus, b.byStatus),
    byReason: addRecord(a.byReason, b.byReason),
    byEngine: addRecord(a.byEngine, b.byEngine),
    latency: mergeHistograms(a.latency as Histogram, b.latency as Histogram),
  };
}

export function addVersions(
  a: Record<string, VersionCounters>,
  b: Record<string, VersionCounters>,
): Record<string, VersionCounters> {
  const out = { ...a };
  for (const [v, c] of Object.entries(b)) out[v] = addCounters(out[v] ?? emptyCounters(), c);
  return out;
}

/** The counters one event adds to its version. */
export function countersOf(e: RequestEvent): VersionCounters {
  const c = emptyCounters();
  c.requests = 1;
  c.errors = e.status >= 500 ? 1 : 0;
  c.byStatus[String(e.status)] = 1;
  if (e.reason) c.byReason[e.reason] = 1;
  if (e.engine) c.byEngine[e.engine] = 1;
  observe(c.latency, e.totalMs);
  return c;
}
