/**
 * Engine int8 kernels against onnxruntime-node on QDQ graphs as training/quantize writes them, one
 * per kernel shape class (1×1, 3×3 stride 1/2, depthwise stride 1/2, Gemm/MatMul, a mixed
 * inverted-residual block), at batch 1 and 3: every output within one quantization step of the
 * reference on the SIMD128 module and on the relaxed-SIMD module, and the two bit for bit equal.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadKernelModules } from '../../../kernels/node-kernels.ts';
import { int8Cases } from '../../fixtures/int8-models.ts';
import { ortRun, relaxedChild } from './helpers.ts';
import { floatsOf, INT8_BATCHES, type Int8Run, int8Feed, runInt8Cases } from './int8-run.ts';

const cases = int8Cases();
type Reference = Record<string, Record<number, Record<string, Float32Array>>>;

/** max |engine - reference| in units of the output's quantization step (its range / 127). */
function stepsOff(got: Float32Array, ref: Float32Array): number {
  expect(got.length).toBe(ref.length);
  let min = Infinity;
  let max = -Infinity;
  for (const v of ref) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  const step = (max - min) / 127;
  let d = 0;
  for (let i = 0; i < ref.length; i++) d = Math.max(d, Math.abs(got[i]! - ref[i]!));
  return d / step;
}

let reference: Reference;
let simd: Int8Run;
let relaxed: Int8Run;

beforeAll(async () => {
  const relaxedRun = relaxedChild<Int8Run>(new URL('./int8-child.ts', import.meta.url), 1 << 26);
  reference = {};
  for (const [i, c] of cases.entries()) {
    reference[c.name] = {};
    for (const batch of INT8_BATCHES) {
      const out = await ortRun(c.model, { x: int8Feed(c.dims, batch, 100 + i) });
      reference[c.name]![batch] = Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data]));
    }
  }
  simd = await runInt8Cases(loadKernelModules({ relaxed: false }));
  relaxed = await relaxedRun;
}, 300_000);

describe('engine int8 kernels vs onnxruntime-node on QDQ graphs', () => {
  it('ran the SIMD128 module in-process and the relaxed-SIMD module in the child', () => {
    expect(simd.variant).toBe('simd');
    expect(relaxed.variant).toBe('relaxed');
  });

  for (const c of cases) {
    it(`${c.name}: int8 steps ran, every output within one quantization step on both modules, modules bit-equal`, () => {
      for (const step of c.int8Steps) {
        expect(simd.steps[c.name], c.name).toContain(step);
        expect(relaxed.steps[c.name], c.name).toContain(step);
      }
      for (const step of c.absentSteps ?? []) expect(simd.steps[c.name], c.name).not.toContain(step);
      expect(simd.quantizePasses[c.name], `${c.name}: Quantize passes`).toBe(c.quantizePasses ?? 1);
      expect(relaxed.quantizePasses[c.name], `${c.name}: Quantize passes`).toBe(c.quantizePasses ?? 1);
      for (const batch of INT8_BATCHES) {
        const ref = reference[c.name]![batch]!;
        expect(Object.keys(simd.outputs[c.name]![batch]!).sort()).toEqual(Object.keys(ref).sort());
        for (const [name, want] of Object.entries(ref)) {
          const s = simd.outputs[c.name]![batch]![name]!;
          const r = relaxed.outputs[c.name]![batch]![name]!;
          expect(stepsOff(floatsOf(s), want), `${c.name} batch ${batch} ${name} simd`).toBeLessThanOrEqual(1);
          expect(stepsOff(floatsOf(r), want), `${c.name} batch ${batch} ${name} relaxed`).toBeLessThanOrEqual(
            1,
          );
          expect(r, `${c.name} batch ${batch} ${name}: relaxed and SIMD128 bits`).toEqual(s);
        }
      }
    });
  }
});
