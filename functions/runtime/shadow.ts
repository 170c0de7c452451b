/**
 * Shadow agreement counters. The shadow version runs after the answer has been sent (waitUntil);
 * each comparison only bumps in-memory counters, and one flusher per isolate merges them into
 * `models/{name}/shadow/{version}.json` with compare-and-swap — one read and one write per flush
 * however many requests were mirrored, and no lost counts when isolates flush at the same time.
 */
import {
  addAgainst,
  type ShadowCounts,
  type ShadowStats,
  ShadowStatsSchema,
  zeroShadowCounts,
} from '../../shared/metrics/shadow.ts';
import { readJson } from '../../shared/store/json.ts';
import { keys } from '../../shared/store/keys.ts';
import { MergeBuffer } from '../../shared/store/merge-buffer.ts';
import type { ObjectStore } from '../../shared/store/types.ts';

export { type ShadowCounts, type ShadowStats, ShadowStatsSchema };

interface ShadowDelta {
  model: string;
  shadow: string;
  against: Record<string, ShadowCounts>;
}

export class ShadowRecorder {
  private readonly buffer: MergeBuffer<ShadowDelta, typeof ShadowStatsSchema>;

  constructor(
    private readonly store: ObjectStore,
    maxAttempts = 8,
  ) {
    this.buffer = new MergeBuffer(
      store,
      {
        schema: ShadowStatsSchema,
        label: 'shadow stats',
        add: (a, b) => ({ ...a, against: addAgainst(a.against, b.against) }),
        apply: (current, d) => ({
          schema: 1,
          model: d.model,
          shadow: d.shadow,
          against: addAgainst(current?.against ?? {}, d.against),
          updatedAt: new Date().toISOString(),
        }),
      },
      maxAttempts,
    );
  }

  record(name: string, shadow: string, served: string, counts: Partial<ShadowCounts>): void {
    this.buffer.record(keys.shadowStats(name, shadow), {
      model: name,
      shadow,
      against: { [served]: { ...zeroShadowCounts(), ...counts } },
    });
  }

  /** Writes everything recorded so far (waits for a flush already running, then flushes the rest). */
  flush(): Promise<void> {
    return this.buffer.flush();
  }

  async read(name: string, shadow: string): Promise<ShadowStats | null> {
    return (await readJson(this.store, keys.shadowStats(name, shadow), ShadowStatsSchema))?.value ?? null;
  }
}
