/**
 * Where each inference request's event goes: one JSON log line (Workers Logs / Logpush), a data
 * point in the Analytics Engine dataset when the METRICS binding exists, and otherwise per-version
 * counters in the store (`metrics/{model}/{slot}.json`), merged by the same compare-and-swap
 * buffer as the shadow counters and flushed at most every METRICS_FLUSH_SECONDS.
 */
import {
  addVersions,
  countersOf,
  MetricsSlotSchema,
  METRICS_SLOT_SECONDS,
  type RequestEvent,
  slotStart,
  type VersionCounters,
} from '../../../shared/metrics/schema.ts';
import { keys } from '../../../shared/store/keys.ts';
import { MergeBuffer } from '../../../shared/store/merge-buffer.ts';
import type { ObjectStore } from '../../../shared/store/types.ts';
import { analyticsDataPoint } from './analytics.ts';

interface SlotDelta {
  model: string;
  slotStart: string;
  versions: Record<string, VersionCounters>;
}

export interface MetricsOptions {
  /** The Analytics Engine dataset binding; when set, the store counters are not written. */
  dataset?: AnalyticsEngineDataset;
  /** 0 flushes after every request. */
  flushMs: number;
  log: boolean;
  now?: () => Date;
}

/**
 * Resolves on a timer turn of this request, which workerd runs only after the ready work queued
 * before it, the handler's response included: what is chained on it runs once the response is on
 * its way. The first console.log of an isolate costs milliseconds of cold code (3–16 ms measured),
 * which the first response would otherwise wait for.
 */
function afterResponse(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

function logLine(event: RequestEvent): void {
  console.log(JSON.stringify({ event: 'inference', ...event }));
}

export class MetricsRecorder {
  private readonly buffer: MergeBuffer<SlotDelta, typeof MetricsSlotSchema>;
  private scheduled = false;

  constructor(
    store: ObjectStore,
    private readonly options: MetricsOptions,
  ) {
    this.buffer = new MergeBuffer(store, {
      schema: MetricsSlotSchema,
      label: 'request metrics',
      add: (a, b) => ({ ...a, versions: addVersions(a.versions, b.versions) }),
      apply: (current, d) => ({
        schema: 1,
        model: d.model,
        slotStart: d.slotStart,
        slotSeconds: METRICS_SLOT_SECONDS,
        versions: addVersions(current?.versions ?? {}, d.versions),
        updatedAt: new Date().toISOString(),
      }),
    });
  }

  get source(): 'analytics-engine' | 'store' {
    return this.options.dataset ? 'analytics-engine' : 'store';
  }

  /**
   * Records one event. `waitUntil` keeps the isolate alive for the delayed flush; only the first
   * request of a flush period schedules one, so a busy isolate writes once per period per model.
   */
  observe(event: RequestEvent, waitUntil: (p: Promise<unknown>) => void): void {
    if (this.options.log) waitUntil(afterResponse().then(() => logLine(event)));
    if (this.options.dataset) {
      this.options.dataset.writeDataPoint(analyticsDataPoint(event));
      return;
    }
    // Counters belong to a version; a request that never got one (unknown model, malformed
    // body before routing) is in the log line only, so callers cannot create store objects.
    if (event.version === null) return;
    const start = slotStart(this.options.now?.() ?? new Date());
    this.buffer.record(keys.metricsSlot(event.model, start), {
      model: event.model,
      slotStart: start.toISOString(),
      versions: { [event.version]: countersOf(event) },
    });
    if (this.scheduled) return;
    this.scheduled = true;
    const delay = new Promise((r) => setTimeout(r, this.options.flushMs));
    waitUntil(
      delay.then(() => {
        this.scheduled = false;
        return this.buffer.flush();
      }),
    );
  }

  /** Writes what this isolate has buffered now (before a stats read). */
  flush(): Promise<void> {
    return this.buffer.flush();
  }
}
