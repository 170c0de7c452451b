import type { Rng } from '../../shared/random.ts';

/**
 * Runs `fn` with `Math.random` drawing from `rng`, for a training-mode forward pass through tfjs
 * layers. A tfjs Dropout layer without a seed takes each step's mask seed from `Math.random`, and
 * one with a seed draws the same mask on every step; this gives a fresh mask per step that is
 * reproducible from `--seed`. `fn` must be synchronous (a tfjs forward pass is), so no other code
 * ever runs while the replacement is in place.
 */
export function withSeededRandom<T>(rng: Rng, fn: () => T): T {
  const original = Math.random;
  Math.random = rng;
  try {
    return fn();
  } finally {
    Math.random = original;
  }
}
