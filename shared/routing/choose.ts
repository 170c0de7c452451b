import type { RoutingDoc } from './schema.ts';

export type ChoiceReason = 'pinned' | 'sticky' | 'weighted';

export interface Choice {
  version: string;
  via: ChoiceReason;
}

export interface ChooseOptions {
  /** An explicit version asked for by the caller; wins over everything (the caller checks it exists). */
  pinned?: string | null;
  /** A stable key for the caller (user id, session); the same key keeps getting the same version. */
  userKey?: string | null;
  /** Mixed into the sticky hash so that the same user lands independently per model. */
  salt?: string;
  /** Source of uniform [0,1) numbers for callers without a key (default Math.random). */
  random?: () => number;
}

/**
 * The one version-choice function the edge uses: explicit version > sticky hash of a user key
 * over the weights > weighted random.
 *
 * Traffic shares: each candidate gets its weight (percent), the stable version the rest. When
 * there is no stable version the candidates share everything in proportion to their weights.
 * Candidates take the low end of [0,1) in document order and stable the top, so with one
 * candidate (the usual canary) raising its weight only moves users from stable to it, and a
 * user who already got the candidate keeps it.
 */
export function chooseVersion(doc: RoutingDoc, options: ChooseOptions = {}): Choice | null {
  if (options.pinned) return { version: options.pinned, via: 'pinned' };
  const shares = trafficShares(doc);
  if (shares.length === 0) return null;
  const key = options.userKey;
  const sticky = key !== undefined && key !== null && key !== '';
  const u = sticky ? stickyFraction(key, options.salt) : (options.random ?? Math.random)();
  return { version: pick(shares, u), via: sticky ? 'sticky' : 'weighted' };
}

/** [version, fraction] pairs summing to 1, in bucket order; empty when nothing is routable. */
export function trafficShares(doc: RoutingDoc): Array<[string, number]> {
  const candidates = doc.candidates.filter((c) => c.weight > 0);
  const candidateTotal = candidates.reduce((s, c) => s + c.weight, 0);
  if (doc.stable) {
    const out: Array<[string, number]> = candidates.map((c) => [c.version, c.weight / 100]);
    out.push([doc.stable, Math.max(0, 100 - candidateTotal) / 100]);
    return out;
  }
  if (candidateTotal <= 0) return [];
  return candidates.map((c) => [c.version, c.weight / candidateTotal]);
}

function pick(shares: Array<[string, number]>, u: number): string {
  let edge = 0;
  for (const [version, share] of shares) {
    edge += share;
    if (u < edge) return version;
  }
  return shares[shares.length - 1]![0]; // u == 1 - ε with rounding in the sum
}

/**
 * Whether this request should also be mirrored to the shadow version: a `sample` fraction of
 * requests, and never when the shadow is the version that answers anyway.
 */
export function shadowVersion(
  doc: RoutingDoc,
  chosen: string | null,
  random: () => number = Math.random,
): string | null {
  const shadow = doc.shadow;
  if (!shadow || shadow.sample <= 0 || shadow.version === chosen) return null;
  return random() < shadow.sample ? shadow.version : null;
}

/**
 * A key's fixed position in [0,1): FNV-1a over the UTF-8 bytes, then the murmur3 finaliser so
 * that similar keys (user-1, user-2) spread evenly. Synchronous and identical in Node and workerd.
 */
export function stickyFraction(key: string, salt = ''): number {
  const bytes = new TextEncoder().encode(`${salt}\u0000${key}`);
  let h = 0x811c9dc5;
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}
