/**
 * The MSE calibration range and the fp32-fallback budget, on data whose answer is known: the MSE
 * range's quantization error, measured by actually quantizing the values with the QDQ parameters,
 * is never above min/max's or the percentile's; outliers are clipped, a uniform tensor keeps its
 * range; a layer that would take the fp32 share over the budget is never kept fp32.
 */
import { describe, expect, it } from 'vitest';
import { createRng, gaussian } from '../../../shared/random.ts';
import type { Range } from '../../../training/quantize/calibrate.ts';
import { mseRange } from '../../../training/quantize/mse-range.ts';
import { activationParams } from '../../../training/quantize/qdq.ts';
import { FP32_MAC_BUDGET, fp32Candidates } from '../../../training/quantize/sensitivity.ts';

/** Mean squared error of QuantizeLinear → DequantizeLinear (with the Clip) over `values`. */
function quantizationMse(values: Float64Array, range: Range, bits: 7 | 8): number {
  const p = activationParams(range, bits);
  const top = 2 ** bits - 1;
  let e = 0;
  for (const v of values) {
    const code = Math.max(0, Math.min(top, Math.round(v / p.scale) + p.zeroPoint));
    e += ((code - p.zeroPoint) * p.scale - v) ** 2;
  }
  return e / values.length;
}

function percentileRange(sorted: Float64Array, q: number): Range {
  const at = (f: number) => sorted[Math.round(f * (sorted.length - 1))]!;
  return { min: at(1 - q), max: at(q) };
}

describe('MSE calibration range', () => {
  it('clips rare outliers of a signed tensor and beats min/max and the 99.99th percentile', () => {
    const rng = createRng(3);
    const values = Float64Array.from({ length: 100_000 }, () => gaussian(rng));
    // Two large values, as a projection (linear, signed) output has.
    values[17] = 20;
    values[4242] = -20;
    const sorted = Float64Array.from(values).sort();
    const observed = { min: sorted[0]!, max: sorted.at(-1)! };
    for (const bits of [7, 8] as const) {
      const mse = mseRange(sorted, observed, bits);
      const got = quantizationMse(values, mse, bits);
      const minmax = quantizationMse(values, observed, bits);
      const percentile = quantizationMse(values, percentileRange(sorted, 0.9999), bits);
      expect(got).toBeLessThan(minmax);
      expect(got).toBeLessThanOrEqual(percentile);
    }
    // At 7 bits rounding over the whole ±20 range costs more than saturating two values; at 8 bits
    // (a quarter of the rounding error) it no longer does, and the range keeps them.
    expect(mseRange(sorted, observed, 7)).toEqual({ min: -9.6875, max: 9.6875 });
    expect(mseRange(sorted, observed, 8).max).toBeGreaterThan(15);
  });

  it('keeps the whole range of a uniform tensor and the 0 end of a post-ReLU tensor', () => {
    const rng = createRng(4);
    const uniform = Float64Array.from({ length: 20_000 }, () => rng() * 6).sort();
    const r = mseRange(uniform, { min: uniform[0]!, max: uniform.at(-1)! }, 7);
    expect(r.max).toBeGreaterThan(0.9 * uniform.at(-1)!);
    expect(r.min).toBe(uniform[0]);
    // Half exact zeros (a ReLU's output): they quantize exactly and must not pull the range in.
    const relu = Float64Array.from({ length: 20_000 }, (_, i) => (i % 2 ? rng() * 6 : 0)).sort();
    const rr = mseRange(relu, { min: 0, max: relu.at(-1)! }, 7);
    expect(rr.min).toBe(0);
    expect(rr.max).toBeGreaterThan(0.9 * relu.at(-1)!);
  });
});

describe('fp32 fallback budget', () => {
  const layers = [
    { node: 'first', score: 5, macs: 4 },
    { node: 'big', score: 4, macs: 30 },
    { node: 'dw', score: 3, macs: 3 },
    { node: 'harmless', score: 0, macs: 1 },
    { node: 'rest', score: 1, macs: 62 },
  ];
  it('most sensitive first, skipping what does not fit, never a layer with zero error', () => {
    expect(fp32Candidates(layers, 100, 5)).toEqual(['first', 'dw']);
    const kept = 4 + 3;
    expect(kept).toBeLessThanOrEqual(FP32_MAC_BUDGET * 100);
  });
  it('at least one op stays int8', () => {
    const cheap = [
      { node: 'a', score: 2, macs: 1 },
      { node: 'b', score: 1, macs: 1 },
    ];
    expect(fp32Candidates(cheap, 1000, 2)).toEqual(['a']);
  });
});
