/**
 * The MSE calibration method: per tensor, the clipping range whose quantization error on the
 * calibration sample is smallest. Min/max wastes codes on rare outliers, a fixed percentile clips
 * blindly; this weighs the two error sources against each other: values outside the range
 * saturate (their squared distance to the range), values inside round (scale² / 12 each, except
 * exact zeros, which the integer zero point represents exactly: after a ReLU they are common).
 */
import type { Range } from './calibrate.ts';
import { type ActivationBits, activationParams } from './qdq.ts';

/** Fractions of the observed min (max) tried as the range's low (high) end. */
const STEPS = 64;

/** Index of the first element of `sorted` that is ≥ x (sorted.length when none). */
function lowerBound(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * `sorted`: an ascending sample of the tensor's values; `observed`: its exact min/max over all
 * calibration images. Returns a range within `observed` (each end scaled towards 0).
 */
export function mseRange(sorted: Float64Array, observed: Range, bits: ActivationBits): Range {
  const n = sorted.length;
  if (n === 0) return observed;
  // Prefix sums of x and x² turn each candidate's saturation error into O(log n).
  const s1 = new Float64Array(n + 1);
  const s2 = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) {
    s1[i + 1] = s1[i]! + sorted[i]!;
    s2[i + 1] = s2[i]! + sorted[i]! * sorted[i]!;
  }
  const zeros = lowerBound(sorted, Number.MIN_VALUE) - lowerBound(sorted, 0);
  const error = (lo: number, hi: number): number => {
    const p = activationParams({ min: lo, max: hi }, bits);
    const below = lowerBound(sorted, p.lo);
    const above = lowerBound(sorted, p.hi);
    // Σ (lo − x)² over x < lo, and Σ (x − hi)² over x ≥ hi.
    const under = below * p.lo * p.lo - 2 * p.lo * s1[below]! + s2[below]!;
    const k = n - above;
    const over = s2[n]! - s2[above]! - 2 * p.hi * (s1[n]! - s1[above]!) + k * p.hi * p.hi;
    const inside = above - below - (p.lo <= 0 && p.hi >= 0 ? zeros : 0);
    return under + over + (inside * p.scale * p.scale) / 12;
  };
  const lows = observed.min < 0 ? STEPS : 1;
  const highs = observed.max > 0 ? STEPS : 1;
  let best = observed;
  let bestError = error(observed.min, observed.max);
  for (let i = 1; i <= lows; i++) {
    const lo = observed.min < 0 ? (observed.min * i) / lows : observed.min;
    for (let j = 1; j <= highs; j++) {
      const hi = observed.max > 0 ? (observed.max * j) / highs : observed.max;
      const e = error(lo, hi);
      if (e < bestError) {
        bestError = e;
        best = { min: lo, max: hi };
      }
    }
  }
  return best;
}
