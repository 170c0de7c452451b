/**
 * Shadow agreement counters. The shadow version runs after the answer has been sent (waitUntil);
 * each comparison only bumps in-memory counters, and one flusher per isolate merges them into
 * `models/{name}/shadow/{version}.json` with compare-and-swap — one read and one write per flush
 * however many requests were mirrored, and no lost counts when isolates flush at the same time.
 */
import { z } from 'zod';
import { EdgetuneError, errorMessage } from '../shared/errors.ts';
import { NAME_PATTERN } from '../shared/names.ts';
import { putJson, readJson } from '../shared/store/json.ts';
import { keys } from '../shared/store/keys.ts';
import type { ObjectStore } from '../shared/store/types.ts';

const CountsSchema = z.object({
  /** Items compared (a batch request counts each image). */
  compared: z.number().int().nonnegative(),
  /** Items whose top-1 label was the same. */
  top1Agree: z.number().int().nonnegative(),
  /** Largest |p_shadow - p_served| seen over all classes and items. */
  maxAbsDiff: z.number().nonnegative(),
  /** Sum over items of that item's max |Δp| (mean = sum / compared). */
  sumMaxAbsDiff: z.number().nonnegative(),
  /** Shadow runs that failed (load or run error); they never affect the answer. */
  errors: z.number().int().nonnegative(),
});
export type ShadowCounts = z.infer<typeof CountsSchema>;

export const ShadowStatsSchema = z.object({
  schema: z.literal(1),
  model: z.string().regex(NAME_PATTERN),
  shadow: z.string().regex(NAME_PATTERN),
  /** Keyed by the version that answered. */
  against: z.record(z.string().regex(NAME_PATTERN), CountsSchema),
  updatedAt: z.string().datetime(),
});
export type ShadowStats = z.infer<typeof ShadowStatsSchema>;

export function shadowStatsKey(name: string, shadowVersion: string): string {
  return `${keys.modelPrefix(name)}shadow/${shadowVersion}.json`;
}

const zero = (): ShadowCounts => ({ compared: 0, top1Agree: 0, maxAbsDiff: 0, sumMaxAbsDiff: 0, errors: 0 });

function add(a: ShadowCounts, b: ShadowCounts): ShadowCounts {
  return {
    compared: a.compared + b.compared,
    top1Agree: a.top1Agree + b.top1Agree,
    maxAbsDiff: Math.max(a.maxAbsDiff, b.maxAbsDiff),
    sumMaxAbsDiff: a.sumMaxAbsDiff + b.sumMaxAbsDiff,
    errors: a.errors + b.errors,
  };
}

export class ShadowRecorder {
  /** `${model}/${shadow}` → served version → counts not yet written. */
  private pending = new Map<string, Map<string, ShadowCounts>>();
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly store: ObjectStore,
    private readonly maxAttempts = 8,
  ) {}

  record(name: string, shadow: string, served: string, counts: Partial<ShadowCounts>): void {
    const group = `${name}/${shadow}`;
    const byServed = this.pending.get(group) ?? new Map<string, ShadowCounts>();
    this.pending.set(group, byServed);
    byServed.set(served, add(byServed.get(served) ?? zero(), { ...zero(), ...counts }));
  }

  /** Writes everything recorded so far (waits for a flush already running, then flushes the rest). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    this.flushing = this.write(batch).finally(() => {
      this.flushing = null;
    });
    await this.flushing;
  }

  async read(name: string, shadow: string): Promise<ShadowStats | null> {
    return (await readJson(this.store, shadowStatsKey(name, shadow), ShadowStatsSchema))?.value ?? null;
  }

  private async write(batch: Map<string, Map<string, ShadowCounts>>): Promise<void> {
    for (const [group, byServed] of batch) {
      const [name, shadow] = group.split('/') as [string, string];
      try {
        await this.merge(name, shadow, byServed);
      } catch (e) {
        // Counters are best effort: put them back for the next flush rather than lose them.
        for (const [served, counts] of byServed) this.record(name, shadow, served, counts);
        console.warn(`shadow stats for ${group} not written: ${errorMessage(e)}`);
      }
    }
  }

  private async merge(name: string, shadow: string, byServed: Map<string, ShadowCounts>): Promise<void> {
    const key = shadowStatsKey(name, shadow);
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      const current = await readJson(this.store, key, ShadowStatsSchema);
      const against = { ...(current?.value.against ?? {}) };
      for (const [served, counts] of byServed) against[served] = add(against[served] ?? zero(), counts);
      const next: ShadowStats = {
        schema: 1,
        model: name,
        shadow,
        against,
        updatedAt: new Date().toISOString(),
      };
      try {
        await putJson(this.store, key, next, current ? { ifMatch: current.etag } : { ifNoneMatch: '*' });
        return;
      } catch (e) {
        if (!(e instanceof EdgetuneError && e.code === 'precondition_failed')) throw e;
        await new Promise((r) => setTimeout(r, Math.random() * 20 * attempt));
      }
    }
    throw new EdgetuneError('conflict', `shadow stats ${key} kept changing; gave up`);
  }
}
