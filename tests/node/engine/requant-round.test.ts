/**
 * The int8 epilogues round exactly as the quantize pass: every f32 quotient y with
 * 2^-2 <= |y| <= 255 (and a stride through the smaller ones) gives the same code through qgemm's
 * tile and qdw3x3 as through `quantize`, on the SIMD128 module (in-process) and the
 * relaxed-SIMD module (a child with the flag Node 20 needs). See requant-round-run.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { onBothModules } from './helpers.ts';
import { type RoundRun, runRoundingCheck } from './requant-round-run.ts';

let runs: { simd: RoundRun; relaxed: RoundRun };

beforeAll(async () => {
  runs = await onBothModules(runRoundingCheck, new URL('./requant-round-child.ts', import.meta.url));
}, 300_000);

describe('int8 epilogue rounding', () => {
  it("every quotient in range gives the quantize pass's code, on both modules", () => {
    expect(runs.simd.variant).toBe('simd');
    expect(runs.relaxed.variant).toBe('relaxed');
    for (const run of [runs.simd, runs.relaxed]) {
      // 2 signs × (0x437f0000 - 0x3e800000 + 1 values, in 1 Mi chunks, + the strided small ones)
      expect(run.checked, run.variant).toBeGreaterThan(2 * (0x437f0000 - 0x3e800000));
      expect(run.mismatches, run.variant).toEqual([]);
    }
  });
});
