/**
 * The engine's start-up warm-up (shared/engine/warmup.ts): its two graphs are real models — the
 * fp32 one and its QDQ int8 twin match onnxruntime-node — whose plans use every kernel family a
 * MobileNet-style model meets (so V8 has compiled and tiered up each before a first request), and
 * a warm-up leaves nothing behind that changes a later session's results — only a spare kernel
 * instance whose memory is already mapped in and zeroed.
 */
import { describe, expect, it } from 'vitest';
import { loadKernelModules } from '../../../kernels/node-kernels.ts';
import { createEngineSession } from '../../../shared/engine/index.ts';
import { SPARE_BYTES, takeKernels } from '../../../shared/engine/spare-kernels.ts';
import { warmUpEngine, warmUpGraph } from '../../../shared/engine/warmup.ts';
import { ortRun } from './helpers.ts';

const kernels = loadKernelModules();
const dims = [1, 3, 32, 32];
const input = Float32Array.from({ length: 3 * 32 * 32 }, (_, i) => ((i * 7919) % 1000) / 1000);

describe('engine warm-up', () => {
  it('plans use the fp32 and the int8 kernel families a MobileNet-style model needs', () => {
    const report = warmUpEngine(kernels);
    for (const step of ['Conv', 'ConvDepthwise', 'Conv1x1', 'GlobalAveragePool', 'Gemm', 'Softmax']) {
      expect(report.steps.fp32).toContain(step);
    }
    for (const step of ['Quantize', 'QConv', 'QConvDepthwise', 'QConv1x1', 'QGemm']) {
      expect(report.steps.int8).toContain(step);
    }
  });

  it('both graphs compute what onnxruntime-node computes', async () => {
    for (const int8 of [false, true]) {
      const model = warmUpGraph(int8);
      const ref = (await ortRun(model, { x: { data: input, dims } })).y!.data;
      const got = (await (await createEngineSession(model, kernels)).run({ x: { data: input, dims } })).y!
        .data;
      expect(got.length).toBe(4);
      const diff = Math.max(...Array.from(got, (v, i) => Math.abs(v - ref[i]!)));
      // fp32: rounding only; int8: at most a code's worth of difference in a few activations.
      expect(diff, int8 ? 'int8' : 'fp32').toBeLessThan(int8 ? 1e-2 : 1e-5);
      expect(Math.max(...ref) - Math.min(...ref)).toBeGreaterThan(0.01);
    }
  });

  it('a session gives the same bits before and after a warm-up', async () => {
    const model = warmUpGraph(true);
    const before = (await (await createEngineSession(model, kernels)).run({ x: { data: input, dims } })).y!
      .data;
    warmUpEngine(kernels);
    const after = (await (await createEngineSession(model, kernels)).run({ x: { data: input, dims } })).y!
      .data;
    expect(new Uint32Array(after.buffer)).toEqual(new Uint32Array(before.buffer));
  });

  it('leaves one kernel instance with SPARE_BYTES of zeroed memory for the first session', () => {
    while (takeKernels(kernels).exports.memory.buffer.byteLength > 65536); // no spare before
    warmUpEngine(kernels);
    const spare = takeKernels(kernels);
    expect(spare.exports.memory.buffer.byteLength).toBeGreaterThanOrEqual(SPARE_BYTES);
    expect(new Uint8Array(spare.exports.memory.buffer).some((b) => b !== 0)).toBe(false);
    expect(takeKernels(kernels).exports.memory.buffer.byteLength).toBe(65536); // only one
  });
});
