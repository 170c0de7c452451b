import type { z } from 'zod';
import { EdgetuneError } from '../errors.ts';
import { putJson, readJson } from './json.ts';
import type { ObjectStore } from './types.ts';

/** A JSON document as read, with the ETag a compare-and-swap write must match. */
export interface Versioned<T> {
  value: T;
  etag: string;
}

/**
 * Returns the next document for the current one, or null when nothing is to be written (the
 * update then ends without a write). It runs once per attempt, so it must not have side effects
 * that a retry would repeat; it may throw to refuse the change.
 */
export type CasChange<T> = (current: Versioned<T> | null, attempt: number) => T | null | Promise<T | null>;

export interface CasOptions {
  /** Attempts before giving up with `conflict` (default 10). */
  maxAttempts?: number;
  /** What the document is, for the `conflict` message (default: its key). */
  label?: string;
  /** Waits between attempts; tests pass a no-op. Default: {@link casBackoff}. */
  backoff?: (attempt: number) => Promise<void>;
}

export interface CasResult<T> {
  /** The document now stored (the current one when nothing was written). */
  value: T | null;
  /** The document the written one replaced (null when it created the key). */
  previous: Versioned<T> | null;
  /** ETag of the stored document ('' when there is none). */
  etag: string;
  /** False when `change` returned null and nothing was written. */
  changed: boolean;
  attempts: number;
}

/**
 * The one back-off between compare-and-swap attempts: exponential from 2 ms, capped at 100 ms,
 * with ±50 % jitter so writers that collided once do not collide again in lockstep.
 */
export function casBackoff(attempt: number): Promise<void> {
  const ms = Math.min(2 ** attempt, 100) * (0.5 + Math.random());
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The one read-modify-write of a JSON document in a store: read it (validated by `schema`, with
 * its ETag) → `change` → write with If-Match on that ETag (If-None-Match: * when it did not
 * exist) → when another writer got there first, back off, re-read and re-apply. However many
 * processes or isolates update the key at once, no update is lost and none is applied twice.
 */
export async function casUpdateJson<S extends z.ZodType>(
  store: ObjectStore,
  key: string,
  schema: S,
  change: CasChange<z.output<S>>,
  options: CasOptions = {},
): Promise<CasResult<z.output<S>>> {
  const maxAttempts = options.maxAttempts ?? 10;
  const backoff = options.backoff ?? casBackoff;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const current = await readJson(store, key, schema);
    const next = await change(current, attempt);
    if (next === null) {
      return {
        value: current?.value ?? null,
        previous: current,
        etag: current?.etag ?? '',
        changed: false,
        attempts: attempt,
      };
    }
    try {
      const written = await putJson(
        store,
        key,
        next,
        current ? { ifMatch: current.etag } : { ifNoneMatch: '*' },
      );
      return { value: next, previous: current, etag: written.etag, changed: true, attempts: attempt };
    } catch (e) {
      if (!isPreconditionFailed(e)) throw e;
      if (attempt < maxAttempts) await backoff(attempt);
    }
  }
  throw new EdgetuneError(
    'conflict',
    `${options.label ?? key} kept changing; gave up after ${maxAttempts} attempts`,
  );
}

/** Whether a store write was refused because its If-Match / If-None-Match did not hold. */
export function isPreconditionFailed(e: unknown): boolean {
  return e instanceof EdgetuneError && e.code === 'precondition_failed';
}
