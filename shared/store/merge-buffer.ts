import type { z } from 'zod';
import { EdgetuneError, errorMessage } from '../errors.ts';
import { putJson, readJson } from './json.ts';
import type { ObjectStore } from './types.ts';

/**
 * Reads a JSON document, applies `update` and writes the result with compare-and-swap
 * (If-Match on the ETag read, If-None-Match: * when it did not exist), retrying with a short
 * random back-off when another writer got there first. No lost updates however many isolates or
 * processes merge into the same key at once.
 */
export async function mergeJson<S extends z.ZodType>(
  store: ObjectStore,
  key: string,
  schema: S,
  update: (current: z.output<S> | null) => z.output<S>,
  maxAttempts = 8,
): Promise<void> {
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const current = await readJson(store, key, schema);
    const next = update(current?.value ?? null);
    try {
      await putJson(store, key, next, current ? { ifMatch: current.etag } : { ifNoneMatch: '*' });
      return;
    } catch (e) {
      if (!(e instanceof EdgetuneError && e.code === 'precondition_failed')) throw e;
      await new Promise((r) => setTimeout(r, Math.random() * 20 * attempt));
    }
  }
  throw new EdgetuneError('conflict', `${key} kept changing; gave up after ${maxAttempts} attempts`);
}

/** How a buffered delta is combined with another delta and folded into the stored document. */
export interface MergeSpec<D, S extends z.ZodType> {
  schema: S;
  add(a: D, b: D): D;
  apply(current: z.output<S> | null, delta: D): z.output<S>;
  /** What the warning says when a flush fails (the delta is kept for the next flush). */
  label: string;
}

/**
 * Counters kept in memory per store key and merged into the store in batches: one read and one
 * write per key per flush however many events were recorded, and nothing lost when a write
 * fails (the delta goes back into the buffer) or when several writers flush at once (CAS).
 */
export class MergeBuffer<D, S extends z.ZodType> {
  private pending = new Map<string, D>();
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly store: ObjectStore,
    private readonly spec: MergeSpec<D, S>,
    private readonly maxAttempts = 8,
  ) {}

  record(key: string, delta: D): void {
    const before = this.pending.get(key);
    this.pending.set(key, before === undefined ? delta : this.spec.add(before, delta));
  }

  get size(): number {
    return this.pending.size;
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

  private async write(batch: Map<string, D>): Promise<void> {
    for (const [key, delta] of batch) {
      try {
        await mergeJson(
          this.store,
          key,
          this.spec.schema,
          (cur) => this.spec.apply(cur, delta),
          this.maxAttempts,
        );
      } catch (e) {
        // Counters are best effort: put them back for the next flush rather than lose them.
        this.record(key, delta);
        console.warn(`${this.spec.label} ${key} not written: ${errorMessage(e)}`);
      }
    }
  }
}
