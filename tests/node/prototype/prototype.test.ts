/**
 * The shared prototype head: fitting (class means, leave-one-out temperature and accuracy), the
 * exported graph against onnxruntime-node and the edgetune engine, and the version it becomes.
 */
import { describe, expect, it } from 'vitest';
import { loadKernelModules } from '../../../kernels/node-kernels.ts';
import { createEngineSession, supports } from '../../../shared/engine/index.ts';
import { ModelManifestSchema } from '../../../shared/manifest/manifest.ts';
import { decodeModel, encodeModel } from '../../../shared/onnx/proto.ts';
import { mobileNetV2WithHead, seededInput } from '../../../shared/onnx/zoo/mobilenetv2.ts';
import { decodeEmbeddings, EXAMPLES_FILE } from '../../../shared/prototype/examples.ts';
import { appendPrototypeHead, prototypeHeadGraph } from '../../../shared/prototype/graph.ts';
import { fitPrototypeHead, prototypeProbabilities } from '../../../shared/prototype/head.ts';
import { buildPrototypeVersion } from '../../../shared/prototype/version.ts';
import { createRng, gaussian } from '../../../shared/random.ts';
import { sha256Hex } from '../../../shared/store/digest.ts';
import { maxAbsDiff, ortRun } from '../engine/helpers.ts';

const kernels = loadKernelModules({ relaxed: false });

/** `perClass` points around each of `classes` random centres in `dim` dimensions. */
function clusters(classes: number, perClass: number, dim: number, spread: number, seed: number) {
  const rng = createRng(seed);
  const centres = Array.from({ length: classes }, () =>
    Float32Array.from({ length: dim }, () => gaussian(rng)),
  );
  return centres.flatMap((c, k) =>
    Array.from({ length: perClass }, () => ({
      label: `class-${k}`,
      embedding: c.map((x) => x + spread * gaussian(rng)),
    })),
  );
}

describe('fitPrototypeHead', () => {
  it('separated clusters: leave-one-out accuracy 1, a sharp temperature, unit prototypes', () => {
    const head = fitPrototypeHead(clusters(3, 5, 32, 0.3, 1));
    expect(head.labels).toEqual(['class-0', 'class-1', 'class-2']);
    expect(head.leaveOneOutAccuracy).toBe(1);
    expect(head.temperature).toBeLessThan(0.2);
    for (let c = 0; c < 3; c++) {
      const p = head.prototypes.subarray(c * 32, (c + 1) * 32);
      expect(Math.hypot(...p)).toBeCloseTo(1, 5);
    }
  });

  it('overlapping clusters: leave-one-out accuracy below 1 and a flatter temperature', () => {
    const sharp = fitPrototypeHead(clusters(3, 6, 32, 0.3, 2));
    const noisy = fitPrototypeHead(clusters(3, 6, 32, 3, 2));
    expect(noisy.leaveOneOutAccuracy).toBeLessThan(1);
    expect(noisy.temperature).toBeGreaterThan(sharp.temperature);
  });

  it('leave-one-out accuracy counts the example against its class mean without it', () => {
    // Class a: two points far apart; b: one close to each a. Left out, each a lands nearer b.
    const e = (x: number, y: number) => Float32Array.of(x, y);
    const head = fitPrototypeHead([
      { label: 'a', embedding: e(1, 0.05) },
      { label: 'a', embedding: e(0.05, 1) },
      { label: 'b', embedding: e(1, 0.2) },
      { label: 'b', embedding: e(0.2, 1) },
    ]);
    expect(head.leaveOneOutAccuracy).toBe(0);
  });

  it('refuses one class, a class with one example, and mixed embedding sizes', () => {
    const one = clusters(1, 4, 8, 0.1, 3);
    expect(() => fitPrototypeHead(one)).toThrow(/at least 2 classes/);
    const lone = [...clusters(2, 3, 8, 0.1, 3), { label: 'lone', embedding: new Float32Array(8) }];
    expect(() => fitPrototypeHead(lone)).toThrow(/"lone" has 1 example; each class needs at least 2/);
    const mixed = [...clusters(2, 2, 8, 0.1, 3), { label: 'class-0', embedding: new Float32Array(4) }];
    expect(() => fitPrototypeHead(mixed)).toThrow(/differ in size/);
  });
});

describe('normalisation before the class means', () => {
  it('square root only for embeddings that are never negative; centring on the examples mean', () => {
    const signed = fitPrototypeHead(clusters(2, 4, 8, 0.3, 5));
    expect(signed.power).toBe(false);
    const mean = new Float32Array(8);
    for (const e of clusters(2, 4, 8, 0.3, 5)) for (let d = 0; d < 8; d++) mean[d]! += e.embedding[d]! / 8;
    expect(maxAbsDiff(signed.centre!, mean)).toBeLessThan(1e-6);
    const plain = fitPrototypeHead(clusters(2, 4, 8, 0.3, 5), undefined, { power: false, centre: 'none' });
    expect(plain.centre).toBeUndefined();
  });

  it('a signed embedding: the head alone runs on onnxruntime-node and the engine like the reference', async () => {
    const examples = clusters(3, 4, 24, 0.5, 6);
    const head = fitPrototypeHead(examples);
    const graph = prototypeHeadGraph(head);
    expect(graph.graph!.node!.map((n) => n.opType)).toEqual(['Sub', 'LpNormalization', 'MatMul', 'Softmax']);
    const data = Float32Array.from(examples.flatMap((e) => Array.from(e.embedding)));
    const dims = [examples.length, 24];
    const expected = examples.flatMap((e) => Array.from(prototypeProbabilities(head, e.embedding)));
    const out = graph.graph!.output![1]!.name!;
    const viaOrt = await ortRun(graph, { embedding: { data, dims } });
    expect(maxAbsDiff(viaOrt[out]!.data, expected)).toBeLessThan(1e-5);
    const session = await createEngineSession(graph, kernels);
    expect(maxAbsDiff(session.runSync({ embedding: { data, dims } })[out]!.data, expected)).toBeLessThan(
      1e-4,
    );
    session.release();
  });
});

describe('prototype head graph', () => {
  const parent = mobileNetV2WithHead({ seed: 31, width: 0.5, resolution: 96, batch: 'N' });
  const inputs = seededInput(32, 6 * 3 * 96 * 96);
  const dims = [6, 3, 96, 96];

  it('runs on onnxruntime-node and the engine like the JS reference (max |Δp| ≤ 1e-4)', async () => {
    const ref = await ortRun(parent, { input: { data: inputs, dims } });
    const feats = ref.features!.data;
    const dim = feats.length / 6;
    const examples = Array.from({ length: 6 }, (_, i) => ({
      label: ['x', 'y', 'z'][i % 3]!,
      embedding: feats.slice(i * dim, (i + 1) * dim),
    }));
    const head = fitPrototypeHead(examples);
    // Pooled ReLU6 features: the square root applies, and the examples' mean is subtracted.
    expect(head.power).toBe(true);
    expect(head.centre).toHaveLength(dim);
    const { model, probabilities } = appendPrototypeHead(parent, 'features', head);
    const ops = model.graph!.node!.map((n) => n.opType).slice(-6);
    expect(ops).toEqual(['Relu', 'Sqrt', 'Sub', 'LpNormalization', 'MatMul', 'Softmax']);
    expect(supports(model).ok).toBe(true);
    const expected = examples.flatMap((e) => Array.from(prototypeProbabilities(head, e.embedding)));
    const viaOrt = await ortRun(model, { input: { data: inputs, dims } });
    expect(viaOrt[probabilities]!.dims).toEqual([6, 3]);
    expect(maxAbsDiff(viaOrt[probabilities]!.data, expected)).toBeLessThan(1e-5);
    expect(maxAbsDiff(viaOrt.features!.data, feats)).toBe(0);
    const session = await createEngineSession(model, kernels);
    const viaEngine = session.runSync({ input: { data: inputs, dims } });
    expect(maxAbsDiff(viaEngine[probabilities]!.data, expected)).toBeLessThan(1e-4);
    session.release();
  });

  it('buildPrototypeVersion: manifest records parent, examples and method; adding a class keeps the order', async () => {
    const bytes = encodeModel(parent);
    const ref = await ortRun(parent, { input: { data: inputs, dims } });
    const feats = ref.features!.data;
    const dim = feats.length / 6;
    const stored = await Promise.all(
      Array.from({ length: 6 }, async (_, i) => ({
        label: i < 3 ? 'cat' : 'dog',
        sha256: await sha256Hex(`image-${i}`),
        embedding: feats.slice(i * dim, (i + 1) * dim),
      })),
    );
    const parentManifest = {
      ...ModelManifestSchema.parse({
        schema: 1,
        name: 'base',
        createdAt: '2026-12-05T00:00:00.000Z',
        model: { file: 'model.onnx', sha256: await sha256Hex(bytes), size: bytes.byteLength },
        input: { name: 'input', shape: ['N', 3, 96, 96] },
        outputs: { probabilities: 'probabilities', embedding: 'features', embeddingDim: dim },
        labels: ['a', 'b', 'c', 'd', 'e'],
        preprocess: { width: 96, height: 96, channels: 3, layout: 'NCHW' },
        backbone: { source: 'test' },
      }),
      version: 'v1',
    };
    const first = await buildPrototypeVersion(
      'pets',
      { model: 'base', version: 'v1', manifest: parentManifest, bytes, examples: [] },
      stored,
      ['edgetune-wasm'],
    );
    const m = ModelManifestSchema.parse(first.manifest);
    expect(m.labels).toEqual(['cat', 'dog']);
    expect(m.parent).toBeNull();
    expect(m.head?.method).toBe('prototype');
    expect(m.head?.from).toEqual({ model: 'base', version: 'v1' });
    expect(m.head?.examples.map((e) => e.sha256)).toEqual(stored.map((s) => s.sha256));
    expect(m.metrics.leave_one_out_accuracy).toBe(first.head.leaveOneOutAccuracy);
    expect(m.model.sha256).toBe(await sha256Hex(first.files['model.onnx']!));
    const rows = decodeEmbeddings(first.files[EXAMPLES_FILE]!, 6, dim);
    expect(maxAbsDiff(rows[4]!, stored[4]!.embedding)).toBe(0);

    // The next version, built on the first: its examples come from the stored file.
    const firstBytes = first.files['model.onnx']!;
    const second = await buildPrototypeVersion(
      'pets',
      {
        model: 'pets',
        version: 'v1',
        manifest: m,
        bytes: firstBytes,
        examples: m.head!.examples.map((e, i) => ({ ...e, embedding: rows[i]! })),
      },
      [
        {
          label: 'bird',
          sha256: await sha256Hex('b1'),
          embedding: stored[0]!.embedding.map((v) => v * 0.5 + 0.1),
        },
        {
          label: 'bird',
          sha256: await sha256Hex('b2'),
          embedding: stored[3]!.embedding.map((v) => v * 0.5 + 0.1),
        },
      ],
      ['edgetune-wasm'],
    );
    const m2 = ModelManifestSchema.parse(second.manifest);
    expect(m2.labels).toEqual(['cat', 'dog', 'bird']);
    expect(m2.parent).toBe('v1');
    expect(m2.head?.from).toEqual({ model: 'base', version: 'v1' });
    expect(m2.head?.examples).toHaveLength(8);
    const graph = decodeModel(second.files['model.onnx']!);
    // The first head was cut away, not stacked: one LpNormalization, one Softmax.
    expect(graph.graph?.node?.filter((n) => n.opType === 'LpNormalization')).toHaveLength(1);
    expect(graph.graph?.node?.filter((n) => n.opType === 'Softmax')).toHaveLength(1);
    const out = await ortRun(graph, { input: { data: inputs, dims } });
    expect(out[m2.outputs.probabilities]!.dims).toEqual([6, 3]);
  });
});
