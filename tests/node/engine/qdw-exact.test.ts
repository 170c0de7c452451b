/**
 * The int8 depthwise is exact: on the SIMD128 module (in-process) and the relaxed-SIMD module (a
 * child with the flag Node 20 needs), stride 1 and 2, every sum qdw3x3 forms equals the integer
 * Σ (x − zp) · w and every float and code its epilogue writes equals an f32 step-by-step
 * reference (qdw-exact-run.ts) — bit for bit, where int8.test.ts allows one quantization step
 * against onnxruntime.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { onBothModules } from './helpers.ts';
import { QDW_CASES, type QdwRun, runQdwExact } from './qdw-exact-run.ts';

let runs: { simd: QdwRun; relaxed: QdwRun };

beforeAll(async () => {
  runs = await onBothModules(runQdwExact, new URL('./qdw-exact-child.ts', import.meta.url));
}, 120_000);

describe('int8 depthwise bit-exact', () => {
  it('ran the SIMD128 module in-process and the relaxed-SIMD module in the child', () => {
    expect(runs.simd.variant).toBe('simd');
    expect(runs.relaxed.variant).toBe('relaxed');
  });

  for (const c of QDW_CASES) {
    it(`${c.name}: sums, floats and codes exact on both modules`, () => {
      for (const run of [runs.simd, runs.relaxed]) {
        const r = run.results[c.name]!;
        expect(r.compared, `${run.variant} compared`).toBe(c.oh * c.ow * c.c * 4);
        expect(r.mismatches, `${run.variant} ${c.name}`).toEqual([]);
      }
    });
  }
});
