/**
 * Waiting for work that another caller is doing, without awaiting that caller's promise.
 *
 * In a Worker every promise belongs to the request that created it, and workerd runs a promise's
 * continuations in that request's context. A request that awaits another request's pending promise
 * (a shared load, a shared read, a flush in flight) therefore resumes inside the *other* request:
 * the timers, streams and reads it starts from then on belong to that request, and when that one
 * has answered, they are cancelled ("A promise was resolved or rejected from a different request
 * context … Continuations … have been canceled") and the waiting request never answers (workerd's
 * "hung" 500). Awaiting a promise of its own that the other request settles is no way out either:
 * while it waits the request has no event of its own, and workerd cancels it as hung at once.
 *
 * So a waiter re-checks the shared state on timers of its own: each tick is its own event, it
 * always resumes in its own context, and it reads the other caller's result from plain fields once
 * that caller has stored it. Check and claim with no await in between (`while (busy) await
 * ownTick();` then take the work), so two callers never both start it. Outside workerd (Node,
 * tests) this is just a short poll.
 */

/** How often a waiter looks again (ms): loads and flushes take milliseconds or more. */
export const OWN_WAIT_TICK_MS = 1;

/** Resolves on this caller's next timer tick. */
export function ownTick(ms = OWN_WAIT_TICK_MS): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * How long a claim on shared work stands before it counts as abandoned. A request that Workers
 * cancel (its client went away) never runs its `finally`, so it never lets go of what it
 * claimed; without this, every later caller would wait for that work forever.
 */
export const ABANDONED_AFTER_MS = 30_000;

/**
 * Work in flight, per key, as plain state that other callers check between their own ticks (no
 * promise is shared). Each claim has a token, so a late finish of an abandoned claim never
 * releases the claim that replaced it.
 */
export class InFlight<K> {
  private readonly claims = new Map<K, { token: number; since: number }>();
  private tokens = 0;

  constructor(
    private readonly now: () => number = Date.now,
    private readonly abandonedAfterMs = ABANDONED_AFTER_MS,
  ) {}

  /** Whether some caller is working on `key` (and claimed it less than abandonedAfterMs ago). */
  busy(key: K): boolean {
    const claim = this.claims.get(key);
    return claim !== undefined && this.now() - claim.since < this.abandonedAfterMs;
  }

  /** Claims `key` for this caller; pass the token to release(). */
  claim(key: K): number {
    const token = ++this.tokens;
    this.claims.set(key, { token, since: this.now() });
    return token;
  }

  /** Lets go of `key` if this caller's claim is still the current one. */
  release(key: K, token: number): void {
    if (this.claims.get(key)?.token === token) this.claims.delete(key);
  }
}
