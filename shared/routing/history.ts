import { z } from 'zod';
import { RoutingDocSchema } from './schema.ts';
import { parseJsonObject } from '../store/json.ts';
import { keys } from '../store/keys.ts';
import type { ObjectStore } from '../store/types.ts';

/** One routing change, as appended to `models/{name}/routing-history/`. */
export const RoutingHistoryEntrySchema = z.object({
  schema: z.literal(1),
  at: z.string().datetime(),
  action: z.string().min(1).max(64),
  reason: z.string().max(500).optional(),
  previous: RoutingDocSchema.nullable(),
  next: RoutingDocSchema,
  /** ETags before/after the compare-and-swap: they chain entries in the order the writes won. */
  previousEtag: z.string().nullable(),
  etag: z.string(),
});
export type RoutingHistoryEntry = z.infer<typeof RoutingHistoryEntrySchema> & { key?: string };

/**
 * The routing history, oldest first. Entry keys sort by wall-clock time, but clocks of different
 * writers disagree and several changes can land in one millisecond, so the order that counts is
 * the ETag chain: walking back from the current routing ETag follows the writes in the order
 * the compare-and-swaps won. Entries off the chain (e.g. before a manual edit) come first, by key.
 */
export async function readRoutingHistory(
  store: ObjectStore,
  name: string,
  currentEtag: string | null,
): Promise<RoutingHistoryEntry[]> {
  const { objects } = await store.list(keys.routingHistoryPrefix(name));
  const sortedKeys = objects.map((o) => o.key).sort();
  const entries: RoutingHistoryEntry[] = [];
  for (const key of sortedKeys) {
    const obj = await store.get(key);
    if (!obj) continue; // deleted between list and get
    entries.push({ ...parseJsonObject(obj, RoutingHistoryEntrySchema, store.url), key });
  }
  return orderByChain(entries, currentEtag);
}

export function orderByChain(
  byKey: RoutingHistoryEntry[],
  currentEtag: string | null,
): RoutingHistoryEntry[] {
  const byEtag = new Map<string, RoutingHistoryEntry>();
  for (const e of byKey) byEtag.set(e.etag, e);
  const chain: RoutingHistoryEntry[] = [];
  const onChain = new Set<RoutingHistoryEntry>();
  let etag = currentEtag;
  while (etag !== null) {
    const e = byEtag.get(etag);
    if (!e || onChain.has(e)) break;
    chain.push(e);
    onChain.add(e);
    etag = e.previousEtag;
  }
  chain.reverse();
  return [...byKey.filter((e) => !onChain.has(e)), ...chain];
}

/**
 * The stable versions before `currentStable`, most recent last, replayed from the history as a
 * stack: a promote (or any change of stable other than a rollback) pushes, a rollback pops. So
 * v1 → v2 → v3, rollback, rollback lands on v1, like undo, instead of bouncing between v2 and v3.
 * For routing documents written before they carried `previousStables`.
 */
export function stableStackFromHistory(
  history: RoutingHistoryEntry[],
  currentStable: string | null,
): string[] {
  const stack: string[] = [];
  for (const e of history) {
    const before = e.previous?.stable ?? null;
    const after = e.next.stable;
    if (before === after) continue;
    if (e.action === 'rollback') {
      if (stack[stack.length - 1] === before) stack.pop();
      if (after !== null && stack[stack.length - 1] !== after) stack.push(after);
    } else if (after !== null) {
      stack.push(after);
    }
  }
  // The chain may be incomplete (a writer died between its CAS and its history entry); the
  // current document is the truth about where we are now.
  while (stack.length > 0 && stack[stack.length - 1] === currentStable) stack.pop();
  return stack;
}

/** Where `rollback` goes according to the history alone (see `stableStackFromHistory`). */
export function rollbackTarget(history: RoutingHistoryEntry[], currentStable: string | null): string | null {
  return stableStackFromHistory(history, currentStable).at(-1) ?? null;
}
