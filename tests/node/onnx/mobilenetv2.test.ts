// Acceptance: a MobileNetV2-1.0-224 built at test time, run in onnxruntime-node, counted,
// cut at its pooled embedding, given a new Gemm+Softmax head, run again, and round-tripped.
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  addOutputs,
  appendSubgraph,
  cutAt,
  decodeModel,
  encodeModel,
  inspectModel,
  int,
  type onnx,
  readTensorFloat32,
  validateModel,
} from '../../../shared/onnx/index.ts';
import { createRng, gaussian } from '../../../shared/random.ts';
import { buildMobileNetV2, MOBILENETV2 } from '../../../shared/onnx/zoo/mobilenetv2.ts';

const CLASSES = 5;
const FEATURES = 1280;

function image(seed: number, batch = 1): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: batch * 3 * 224 * 224 }, () => rng() * 2 - 1);
}

async function run(
  model: onnx.IModelProto,
  x: Float32Array,
  batch = 1,
): Promise<ort.InferenceSession.ReturnType> {
  const session = await ort.InferenceSession.create(encodeModel(model), { intraOpNumThreads: 1 });
  try {
    return await session.run({ [MOBILENETV2.input]: new ort.Tensor('float32', x, [batch, 3, 224, 224]) });
  } finally {
    await session.release();
  }
}

function initializer(model: onnx.IModelProto, name: string): Float32Array {
  const t = model.graph?.initializer?.find((i) => i.name === name);
  if (!t) throw new Error(`no initializer ${name}`);
  return readTensorFloat32(t);
}

/** y = x · Wᵀ + b for one row, in float64. */
function dense(x: Float32Array, w: Float32Array, b: Float32Array): number[] {
  const n = b.length;
  const k = x.length;
  return Array.from({ length: n }, (_, j) => {
    let s = b[j]!;
    for (let i = 0; i < k; i++) s += x[i]! * w[j * k + i]!;
    return s;
  });
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('MobileNetV2-1.0-224 fixture', () => {
  let model: onnx.ModelProto;
  let x: Float32Array;
  let full: ort.InferenceSession.ReturnType;

  beforeAll(async () => {
    model = buildMobileNetV2({ seed: 42 });
    x = image(1);
    full = await run(addOutputs(model, [MOBILENETV2.features]), x);
  });

  it('has the published MAC and parameter counts', () => {
    const s = inspectModel(model);
    expect(Math.abs(s.macs - 300.8e6) / 300.8e6).toBeLessThan(0.01);
    expect(Math.abs(s.parameters - 3.5e6) / 3.5e6).toBeLessThan(0.02);
    // Exact counts of this layout (torchvision's, BN folded into conv biases).
    expect(s.macs).toBe(300_774_272);
    expect(s.parameters).toBe(3_487_818);
    expect(s.macsUnknown).toEqual([]);
    expect(s.opHistogram).toEqual({ Conv: 52, Clip: 35, Add: 10, GlobalAveragePool: 1, Flatten: 1, Gemm: 1 });
    expect(s.inputs).toEqual([{ name: 'input', shape: [1, 3, 224, 224], elemType: 'FLOAT' }]);
    expect(s.outputs).toEqual([{ name: 'logits', shape: [1, 1000], elemType: 'FLOAT' }]);
    expect(s.opsets).toEqual({ 'ai.onnx': 17 });
    expect(s.initializerBytes).toBe(4 * s.parameters);
    expect(validateModel(model)).toEqual([]);
  });

  it('is deterministic for a seed and different across seeds', () => {
    const again = encodeModel(buildMobileNetV2({ seed: 42 }));
    expect(Buffer.from(again).equals(Buffer.from(encodeModel(model)))).toBe(true);
    expect(Buffer.from(encodeModel(buildMobileNetV2({ seed: 43 }))).equals(Buffer.from(again))).toBe(false);
  });

  it('runs in onnxruntime-node with finite, non-degenerate outputs', () => {
    const logits = full[MOBILENETV2.logits]!;
    const features = full[MOBILENETV2.features]!;
    expect(logits.dims).toEqual([1, 1000]);
    expect(features.dims).toEqual([1, FEATURES]);
    const l = logits.data as Float32Array;
    expect(l.every(Number.isFinite)).toBe(true);
    expect(Math.max(...l) - Math.min(...l)).toBeGreaterThan(1);
    // ReLU6 then average pooling: every feature lies in [0, 6], and they are not all equal.
    const f = features.data as Float32Array;
    expect(Math.min(...f)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...f)).toBeLessThanOrEqual(6);
    expect(new Set(f).size).toBeGreaterThan(FEATURES / 2);
    // The classifier is exactly a dense layer on the features.
    const ref = dense(f, initializer(model, 'classifier.weight'), initializer(model, 'classifier.bias'));
    expect(maxAbsDiff(l, ref)).toBeLessThan(1e-4);
  });

  it('cuts at the pooled 1280-d features and appends a Gemm+Softmax head', async () => {
    const backbone = cutAt(model, MOBILENETV2.features);
    const bs = inspectModel(backbone);
    expect(bs.outputs).toEqual([{ name: 'features', shape: [1, FEATURES], elemType: 'FLOAT' }]);
    expect(bs.opHistogram.Gemm).toBeUndefined();
    expect(bs.parameters).toBe(3_487_818 - 1000 * FEATURES - 1000);
    expect(bs.macs).toBe(300_774_272 - 1000 * FEATURES);
    expect(validateModel(backbone)).toEqual([]);

    const rng = createRng(7);
    const w = Float32Array.from({ length: CLASSES * FEATURES }, () => gaussian(rng) * 0.05);
    const b = Float32Array.from({ length: CLASSES }, () => gaussian(rng) * 0.1);
    const headed = appendSubgraph(
      backbone,
      MOBILENETV2.features,
      (g, input) => {
        const wName = g.initializer(g.unique('head.weight'), w, [CLASSES, FEATURES]);
        const bName = g.initializer(g.unique('head.bias'), b, [CLASSES]);
        const [logits] = g.node('Gemm', [input, wName, bName], [g.unique('head.logits')], { transB: int(1) });
        return g.node('Softmax', [logits!], ['probabilities'], { axis: int(-1) });
      },
      { keepOutputs: true },
    );
    const hs = inspectModel(headed);
    expect(hs.outputs).toEqual([
      { name: 'features', shape: [1, FEATURES], elemType: 'FLOAT' },
      { name: 'probabilities', shape: [1, CLASSES], elemType: 'FLOAT' },
    ]);
    expect(hs.macs).toBe(bs.macs + CLASSES * FEATURES);
    expect(hs.parameters).toBe(bs.parameters + CLASSES * FEATURES + CLASSES);

    const out = await run(headed, x);
    const probs = out.probabilities!;
    expect(probs.dims).toEqual([1, CLASSES]);
    const p = probs.data as Float32Array;
    expect(p.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
    expect(Math.min(...p)).toBeGreaterThan(0);
    // The backbone part is unchanged by the surgery, and the head computes softmax(f·Wᵀ + b).
    const f = out.features!.data as Float32Array;
    expect(maxAbsDiff(f, full.features!.data as Float32Array)).toBe(0);
    const z = dense(f, w, b);
    const e = z.map((v) => Math.exp(v - Math.max(...z)));
    const sum = e.reduce((s, v) => s + v, 0);
    expect(
      maxAbsDiff(
        p,
        e.map((v) => v / sum),
      ),
    ).toBeLessThan(1e-6);

    // encode → decode → encode is byte-stable, and the decoded model summarises identically.
    for (const m of [model, backbone, headed]) {
      const bytes = encodeModel(m);
      const decoded = decodeModel(bytes);
      expect(Buffer.from(encodeModel(decoded)).equals(Buffer.from(bytes))).toBe(true);
      expect(inspectModel(decoded)).toEqual(inspectModel(m));
    }
  });

  it('runs with a symbolic batch dim and counts MACs per sample', async () => {
    const batched = buildMobileNetV2({ seed: 42, batch: 'N', classes: 10 });
    const s = inspectModel(batched);
    expect(s.inputs[0]!.shape).toEqual(['N', 3, 224, 224]);
    expect(s.outputs[0]!.shape).toEqual(['N', 10]);
    expect(s.macs).toBe(300_774_272 - 990 * FEATURES);
    const cut = inspectModel(cutAt(batched, MOBILENETV2.features));
    expect(cut.outputs[0]!.shape).toEqual(['N', FEATURES]);
    const out = await run(batched, image(2, 2), 2);
    expect(out.logits!.dims).toEqual([2, 10]);
    // Same weights as the seed-42 model up to the classifier, so the features agree per image.
    const single = await run(addOutputs(batched, ['features']), image(2, 2).subarray(0, 3 * 224 * 224), 1);
    const both = await run(addOutputs(batched, ['features']), image(2, 2), 2);
    const f2 = both.features!.data as Float32Array;
    expect(maxAbsDiff(f2.subarray(0, FEATURES), single.features!.data as Float32Array)).toBeLessThan(1e-5);
  });
});
