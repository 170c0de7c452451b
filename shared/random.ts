/**
 * Seeded pseudo-random numbers, so that shuffles, splits, weight initialisation and test
 * fixtures are reproducible from `--seed` on every runtime (Node and workerd alike).
 */
export type Rng = () => number;

/** mulberry32: small, fast, good enough for shuffles and initialisation (not for secrets). */
export function createRng(seed: number): Rng {
  // The state lives in an Int32Array: as a captured uint32 it exceeds a small integer half the
  // time and V8 boxes it on every draw (~1.8× slower; dropout masks draw one per activation).
  // Same bits either way: every operation below reads it as int32 or uint32 bits.
  const state = new Int32Array([seed | 0]);
  return () => {
    const a = (state[0]! + 0x6d2b79f5) | 0;
    state[0] = a;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal samples (Box-Muller). */
export function gaussian(rng: Rng): number {
  const u = Math.max(rng(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

/** Fisher-Yates shuffle of a copy. */
export function shuffled<T>(items: readonly T[], rng: Rng): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
