import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeModel } from '../../../shared/onnx/proto.ts';
import { checkOptimizedGraph, OPTIMIZED_FILE, optimizeForEdge } from '../../../training/optimize/optimize.ts';
import { getOrtWeb, ortWebHeapBytes } from '../../../training/optimize/web-runtime.ts';
import { buildMobileNetV2 } from '../../../shared/onnx/zoo/mobilenetv2.ts';

// A narrow, low-resolution MobileNetV2 with explicit BatchNormalization nodes: the real topology
// (Conv+BN+Clip chains, residual Adds, Gemm head) at a size that keeps this file fast.
const small = (seed: number) =>
  encodeModel(
    buildMobileNetV2({ seed, width: 0.35, resolution: 96, classes: 5, batch: 'N', bn: 'explicit' }),
  );

describe('optimizeForEdge', () => {
  it("saves onnxruntime-node's 'extended' graph, which onnxruntime-web loads with optimisation disabled and computes the same outputs", async () => {
    const original = small(1);
    const opt = await optimizeForEdge(original);
    expect(opt.file).toBe(OPTIMIZED_FILE);
    expect(opt.level).toBe('extended');
    expect(opt.size).toBe(opt.bytes.byteLength);
    expect(opt.sha256).toBe(createHash('sha256').update(opt.bytes).digest('hex'));
    // BN folded away, Conv+Clip fused into com.microsoft FusedConv: far fewer nodes.
    expect(opt.nodes.before.BatchNormalization).toBe(52);
    expect(opt.nodes.after.BatchNormalization).toBeUndefined();
    expect(opt.nodes.after['com.microsoft:FusedConv']).toBeGreaterThanOrEqual(30);
    const count = (m: Record<string, number>) => Object.values(m).reduce((a, b) => a + b, 0);
    expect(count(opt.nodes.after)).toBeLessThan(count(opt.nodes.before) / 2);
    expect(opt.check?.outputs).toEqual(['logits']);
    expect(opt.check!.values).toBe(2 * 5);
    expect(opt.check!.maxAbsDiff).toBeLessThan(1e-4);
    expect(ortWebHeapBytes()).toBeGreaterThan(1 << 20);
  });

  it('refuses a graph that computes something else', async () => {
    const other = await optimizeForEdge(small(2), { verify: false });
    expect(other.check).toBeUndefined();
    await expect(checkOptimizedGraph(small(1), other.bytes)).rejects.toMatchObject({ code: 'parity_failed' });
  });

  it('reports a graph onnxruntime-web cannot load as unsupported', async () => {
    const broken = new Uint8Array([0x08, 0x07, 0x12, 0xff, 0xff]);
    await expect(checkOptimizedGraph(small(1), broken)).rejects.toMatchObject({ code: 'unsupported' });
    // The backend stays usable afterwards.
    const ort = await getOrtWeb();
    expect(typeof ort.InferenceSession.create).toBe('function');
  });
});
