import type { z } from 'zod';
import { errorMessage } from '../errors.ts';
import { casUpdateJson } from './cas.ts';
import { InFlight, ownTick } from '../own-wait.ts';
import type { ObjectStore } from './types.ts';

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
 * fails (the delta goes back into the buffer) or when several writers flush at once
 * (casUpdateJson).
 */
export class MergeBuffer<D, S extends z.ZodType> {
  private pending = new Map<string, D>();
  /** A flush writing now (plain state, not a promise: see flush). */
  private readonly writing = new InFlight<'flush'>();

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

  /**
   * Writes everything recorded so far (waits for a flush already running, then flushes the rest).
   * The running flush may be another request's: it is waited for on this caller's own timer
   * ticks, not through its promise (shared/own-wait.ts).
   */
  async flush(): Promise<void> {
    while (this.writing.busy('flush')) await ownTick();
    if (this.pending.size === 0) return;
    // No await between the check above and the claim: one writer at a time.
    const batch = this.pending;
    this.pending = new Map();
    const claim = this.writing.claim('flush');
    try {
      await this.write(batch);
    } finally {
      this.writing.release('flush', claim);
    }
  }

  private async write(batch: Map<string, D>): Promise<void> {
    for (const [key, delta] of batch) {
      try {
        await casUpdateJson(
          this.store,
          key,
          this.spec.schema,
          (cur) => this.spec.apply(cur?.value ?? null, delta),
          {
            maxAttempts: this.maxAttempts,
          },
        );
      } catch (e) {
        // Counters are best effort: put them back for the next flush rather than lose them.
        this.record(key, delta);
        console.warn(`${this.spec.label} ${key} not written: ${errorMessage(e)}`);
      }
    }
  }
}
