/**
 * Per-version summary over a time window, from what the edge flushed to the store: requests,
 * errors, latency percentiles, plus shadow agreement and feedback agreement. One implementation
 * for `GET /admin/models/{name}/stats` and `edgetune models stats`.
 */
import { EdgetuneError } from '../errors.ts';
import { listFeedback } from '../feedback/store.ts';
import { parseJsonObject } from '../store/json.ts';
import { compareVersions, keys, parseMetricsSlotKey } from '../store/keys.ts';
import type { ObjectStore } from '../store/types.ts';
import { percentile } from './histogram.ts';
import {
  addVersions,
  emptyCounters,
  METRICS_SLOT_SECONDS,
  MetricsSlotSchema,
  type VersionCounters,
} from './schema.ts';
import { ShadowStatsSchema } from './shadow.ts';

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const MAX_WINDOW_MS = 31 * UNIT_MS.d;

/** `90s`, `15m`, `1h`, `7d` → milliseconds (at most 31 days). */
export function parseWindow(raw: string): number {
  const m = /^([1-9][0-9]{0,6})(s|m|h|d)$/.exec(raw.trim());
  const ms = m ? Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS] : Number.NaN;
  if (!(ms > 0 && ms <= MAX_WINDOW_MS)) {
    throw new EdgetuneError(
      'bad_request',
      `window must be a number with s, m, h or d (e.g. 15m, 1h, 7d; at most 31d), got ${JSON.stringify(raw)}`,
    );
  }
  return ms;
}

export interface VersionSummary {
  version: string;
  requests: number;
  errors: number;
  errorRate: number;
  byStatus: Record<string, number>;
  byReason: Record<string, number>;
  byEngine: Record<string, number>;
  /** Milliseconds inside the Worker, to the histogram's bucket bounds. */
  latencyMs: { p50: number | null; p95: number | null; p99: number | null; mean: number | null; max: number };
  /** As a shadow version, against the versions that answered (since the shadow was set; not windowed). */
  shadow: { compared: number; top1Agree: number; agreement: number | null; errors: number } | null;
  /** Feedback in the window that named this version and what it predicted: how often the label agreed. */
  feedback: { samples: number; agree: number; agreement: number | null } | null;
}

export interface ModelStats {
  model: string;
  source: 'store';
  /** Whole slots overlapping [now - window, now]. */
  window: { from: string; to: string; seconds: number; slotSeconds: number; slots: number };
  versions: VersionSummary[];
}

const ratio = (a: number, b: number) => (b > 0 ? a / b : null);

function summarise(version: string, c: VersionCounters): Omit<VersionSummary, 'shadow' | 'feedback'> {
  return {
    version,
    requests: c.requests,
    errors: c.errors,
    errorRate: ratio(c.errors, c.requests) ?? 0,
    byStatus: c.byStatus,
    byReason: c.byReason,
    byEngine: c.byEngine,
    latencyMs: {
      p50: percentile(c.latency, 0.5),
      p95: percentile(c.latency, 0.95),
      p99: percentile(c.latency, 0.99),
      mean: c.requests > 0 ? c.latency.sumMs / c.requests : null,
      max: c.latency.maxMs,
    },
  };
}

async function readSlots(store: ObjectStore, name: string, fromMs: number, toMs: number) {
  const { objects } = await store.list(keys.metricsPrefix(name));
  let versions: Record<string, VersionCounters> = {};
  let slots = 0;
  for (const o of objects) {
    const slot = parseMetricsSlotKey(o.key);
    if (!slot) continue;
    const start = slot.slotStart.getTime();
    if (start + METRICS_SLOT_SECONDS * 1000 <= fromMs || start > toMs) continue;
    const obj = await store.get(o.key);
    if (!obj) continue; // deleted since the listing
    versions = addVersions(versions, parseJsonObject(obj, MetricsSlotSchema, store.url).versions);
    slots++;
  }
  return { versions, slots };
}

async function readShadow(store: ObjectStore, name: string) {
  const { objects } = await store.list(keys.shadowStatsPrefix(name));
  const out = new Map<string, NonNullable<VersionSummary['shadow']>>();
  for (const o of objects) {
    const obj = await store.get(o.key);
    if (!obj || !o.key.endsWith('.json')) continue;
    const doc = parseJsonObject(obj, ShadowStatsSchema, store.url);
    const total = { compared: 0, top1Agree: 0, errors: 0 };
    for (const c of Object.values(doc.against)) {
      total.compared += c.compared;
      total.top1Agree += c.top1Agree;
      total.errors += c.errors;
    }
    out.set(doc.shadow, { ...total, agreement: ratio(total.top1Agree, total.compared) });
  }
  return out;
}

async function readFeedbackAgreement(store: ObjectStore, name: string, since: Date) {
  const out = new Map<string, NonNullable<VersionSummary['feedback']>>();
  for (const r of await listFeedback(store, name, { since })) {
    if (!r.version || r.prediction === null) continue;
    const f = out.get(r.version) ?? { samples: 0, agree: 0, agreement: null };
    f.samples++;
    if (r.prediction === r.label) f.agree++;
    f.agreement = ratio(f.agree, f.samples);
    out.set(r.version, f);
  }
  return out;
}

export async function readModelStats(
  store: ObjectStore,
  name: string,
  options: { windowMs: number; now?: Date },
): Promise<ModelStats> {
  const to = (options.now ?? new Date()).getTime();
  const from = to - options.windowMs;
  const [slots, shadow, feedback] = await Promise.all([
    readSlots(store, name, from, to),
    readShadow(store, name),
    readFeedbackAgreement(store, name, new Date(from)),
  ]);
  const names = new Set([...Object.keys(slots.versions), ...shadow.keys(), ...feedback.keys()]);
  const versions = [...names].sort(compareVersions).map((v) => ({
    ...summarise(v, slots.versions[v] ?? emptyCounters()),
    shadow: shadow.get(v) ?? null,
    feedback: feedback.get(v) ?? null,
  }));
  return {
    model: name,
    source: 'store',
    window: {
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      seconds: options.windowMs / 1000,
      slotSeconds: METRICS_SLOT_SECONDS,
      slots: slots.slots,
    },
    versions,
  };
}
