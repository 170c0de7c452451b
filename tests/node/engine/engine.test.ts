import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadKernelModules } from '../../../kernels/node-kernels.ts';
import { createEngineSession, describeUnsupported, supports } from '../../../shared/engine/index.ts';
import { EdgetuneError } from '../../../shared/errors.ts';
import { GraphBuilder, float } from '../../../shared/onnx/builder.ts';
import { mobileNetV2WithHead, seededInput } from '../../../shared/onnx/zoo/mobilenetv2.ts';
import { buildOpZoo, OP_ZOO_SIDE } from '../../fixtures/engine-models.ts';
import { maxAbsDiff, ortRun, relativeDiff } from './helpers.ts';

const kernels = loadKernelModules({ relaxed: false });

describe('engine parity with onnxruntime-node', () => {
  it('MobileNetV2-224 + 5-class head: probabilities within 1e-4, embedding within 1e-4 relative', async () => {
    const model = mobileNetV2WithHead({ seed: 3 });
    const x = seededInput(4, 3 * 224 * 224);
    const feeds = { input: { data: x, dims: [1, 3, 224, 224] } };
    const ref = await ortRun(model, feeds);
    const session = await createEngineSession(model, kernels);
    expect(session.variant).toBe('simd');
    const out = session.runSync(feeds);
    expect(out.probabilities!.dims).toEqual([1, 5]);
    expect(out.features!.dims).toEqual([1, 1280]);
    expect(maxAbsDiff(out.probabilities!.data, ref.probabilities!.data)).toBeLessThan(1e-4);
    expect(relativeDiff(out.features!.data, ref.features!.data)).toBeLessThan(1e-4);
    expect(relativeDiff(out.logits!.data, ref.logits!.data)).toBeLessThan(1e-4);
    // weights (~14 MB fp32) + activation arena, planned once
    expect(session.heapBytes).toBeLessThan(40 * 2 ** 20);
  });

  it('explicit BatchNormalization nodes are folded, batch 2 matches, and batch 1 after batch 2 gets its own plan', async () => {
    const model = mobileNetV2WithHead({ seed: 5, bn: 'explicit', width: 0.5, resolution: 96, batch: 'N' });
    const x = seededInput(6, 2 * 3 * 96 * 96);
    const ref = await ortRun(model, { input: { data: x, dims: [2, 3, 96, 96] } });
    const session = await createEngineSession(model, kernels);
    const out = session.runSync({ input: { data: x, dims: [2, 3, 96, 96] } });
    expect(maxAbsDiff(out.probabilities!.data, ref.probabilities!.data)).toBeLessThan(1e-4);
    expect(relativeDiff(out.features!.data, ref.features!.data)).toBeLessThan(1e-4);
    const second = session.runSync({ input: { data: x.subarray(3 * 96 * 96), dims: [1, 3, 96, 96] } });
    expect(maxAbsDiff(second.probabilities!.data, ref.probabilities!.data.subarray(5))).toBeLessThan(1e-4);
  });

  it('op zoo: grouped/dilated/strided convs, SE, pools, Concat, Transpose+Flatten, MatMul, Gemm', async () => {
    const model = buildOpZoo(7);
    const dims = [3, 3, OP_ZOO_SIDE, OP_ZOO_SIDE];
    const x = seededInput(
      8,
      dims.reduce((a, b) => a * b, 1),
    );
    const ref = await ortRun(model, { x: { data: x, dims } });
    const session = await createEngineSession(model, kernels);
    const out = session.runSync({ x: { data: x, dims } });
    for (const name of ['probs', 'flat_nhwc', 'pw', 'c0']) {
      expect(out[name]!.dims, name).toEqual(ref[name]!.dims);
      expect(relativeDiff(out[name]!.data, ref[name]!.data), name).toBeLessThan(1e-5);
    }
    // the same inputs give the same outputs (no state leaks between runs)
    const again = session.runSync({ x: { data: x, dims } });
    expect(maxAbsDiff(again.probs!.data, out.probs!.data)).toBe(0);
  });

  it('relaxed-SIMD kernels (child node with --experimental-wasm-relaxed-simd) match too', async () => {
    const child = fileURLToPath(new URL('./relaxed-child.ts', import.meta.url));
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--experimental-wasm-relaxed-simd', '--no-warnings', '--import', 'tsx', child, '9', '128', '10'],
      { maxBuffer: 1 << 24 },
    );
    const got = JSON.parse(stdout) as { variant: string; probabilities: number[]; features: number[] };
    expect(got.variant).toBe('relaxed');
    const ref = await ortRun(mobileNetV2WithHead({ seed: 9, resolution: 128 }), {
      input: { data: seededInput(10, 3 * 128 * 128), dims: [1, 3, 128, 128] },
    });
    expect(maxAbsDiff(got.probabilities, ref.probabilities!.data)).toBeLessThan(1e-4);
    expect(relativeDiff(got.features, ref.features!.data)).toBeLessThan(1e-4);
  });
});

describe('engine support check', () => {
  it('summarises many nodes with one problem in one short line', () => {
    const g = new GraphBuilder({ name: 'many' });
    g.input('x', [1, 4]);
    let x = 'x';
    for (let i = 0; i < 40; i++) {
      g.node('Tanh', [x], [`t${i}`], {}, { name: `tanh_${i}` });
      x = `t${i}`;
    }
    g.node('LeakyRelu', [x], ['y'], { alpha: float(0.1) }, { name: 'leaky' });
    g.output('y', [1, 4]);
    const report = supports(g.build());
    expect(report.unsupported).toHaveLength(41);
    expect(describeUnsupported(report)).toBe(
      'Tanh: op not supported (40 nodes: tanh_0, tanh_1, tanh_2, +37 more); LeakyRelu: op not supported (1 node: leaky)',
    );
  });

  it('lists unsupported ops, and session creation refuses such a model', async () => {
    const g = new GraphBuilder({ name: 'odd' });
    g.input('x', [1, 4]);
    g.node('LeakyRelu', ['x'], ['y'], { alpha: float(0.1) });
    g.output('y', [1, 4]);
    const model = g.build();
    const report = supports(model);
    expect(report.ok).toBe(false);
    expect(report.unsupported.join()).toContain('LeakyRelu');
    expect(supports(mobileNetV2WithHead({ seed: 1, width: 0.35, resolution: 32 }))).toEqual({
      ok: true,
      unsupported: [],
      problems: [],
    });
    await expect(createEngineSession(model, kernels)).rejects.toBeInstanceOf(EdgetuneError);
  });

  it('rejects inputs with the wrong shape', async () => {
    const session = await createEngineSession(buildOpZoo(1), kernels);
    expect(() => session.runSync({ x: { data: new Float32Array(3 * 8 * 8), dims: [1, 3, 8, 8] } })).toThrow(
      /expected/,
    );
  });
});
