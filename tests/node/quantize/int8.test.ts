/**
 * Post-training int8: `train --quantize int8` stores a QDQ variant that onnxruntime-node runs and
 * that passed its held-out accuracy gate; a model whose margin lives below int8 resolution (two
 * embedding channels that differ by 1e-4 of their weights) fails the gate through the CLI and is
 * published fp32-only, with the reason in the CLI, the manifest and report.html.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadKernelModules } from '../../../kernels/node-kernels.ts';
import {
  createEngineSession,
  decodeEngineArtifact,
  ENGINE_ARTIFACT_FORMAT,
} from '../../../shared/engine/index.ts';
import { ModelManifestSchema, QuantizedVariantSchema } from '../../../shared/manifest/manifest.ts';
import { passedInt8Variant } from '../../fixtures/int8-variant.ts';
import type { PreprocessSpec } from '../../../shared/manifest/preprocess.ts';
import { GraphBuilder, int, ints } from '../../../shared/onnx/builder.ts';
import { decodeModel, encodeModel } from '../../../shared/onnx/proto.ts';
import { imagesToTensor } from '../../../shared/preprocess/tensor.ts';
import { createRng, gaussian } from '../../../shared/random.ts';
import { keys } from '../../../shared/store/keys.ts';
import { loadDataset } from '../../../training/datasets/index.ts';
import { buildManifest } from '../../../training/export/manifest.ts';
import { quantizeWeights, toQdq } from '../../../training/quantize/qdq.ts';
import { openStore } from '../../../shared/store/node/open.ts';
import { publishExportDir } from '../../../training/registry/publish-dir.ts';
import { runTraining } from '../../../training/train/run.ts';
import { runCli } from '../cli-helper.ts';
import { mnistBackbone, tmpDir } from '../train/fixtures.ts';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const readManifest = (dir: string) =>
  ModelManifestSchema.parse(JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')));

let backbone: string;
beforeAll(async () => {
  backbone = await mnistBackbone('all');
}, 1_200_000);

describe('int8 weights', () => {
  it('per-output-channel symmetric codes decode within half a step of every weight', () => {
    const rng = createRng(5);
    const dims = [6, 3, 3, 3];
    const w = Float32Array.from({ length: 6 * 27 }, (_, i) => gaussian(rng) * (1 + Math.floor(i / 27)));
    const { codes, scales } = quantizeWeights(w, dims, 0);
    expect(scales.length).toBe(6);
    for (let i = 0; i < w.length; i++) {
      const s = scales[Math.floor(i / 27)]!;
      expect(Math.abs(codes[i]!)).toBeLessThanOrEqual(127);
      expect(Math.abs(codes[i]! * s - w[i]!)).toBeLessThanOrEqual(s / 2 + 1e-7);
    }
    // Each channel's largest weight maps to ±127: the whole code range is used.
    for (let c = 0; c < 6; c++)
      expect(Math.max(...codes.subarray(c * 27, c * 27 + 27).map(Math.abs))).toBe(127);
  });
});

describe('QDQ form', () => {
  it('7-bit activations get a Clip at code 127, 8-bit rely on QuantizeLinear; onnxruntime loads both fully optimised', async () => {
    const rng = createRng(9);
    const g = new GraphBuilder({ name: 'two-convs', opset: 17 });
    g.input('x', [1, 2, 5, 5]);
    const w1 = g.initializer(
      'w1',
      Float32Array.from({ length: 3 * 2 * 9 }, () => gaussian(rng)),
      [3, 2, 3, 3],
    );
    const [c1] = g.node('Conv', ['x', w1], ['c1'], { pads: ints([1, 1, 1, 1]) }, { name: 'conv1' });
    const [r1] = g.node('Relu', [c1!], ['r1']);
    const w2 = g.initializer(
      'w2',
      Float32Array.from({ length: 2 * 3 }, () => gaussian(rng)),
      [2, 3, 1, 1],
    );
    g.node('Conv', [r1!, w2], ['y'], {}, { name: 'conv2' });
    g.output('y', [1, 2, 5, 5]);
    const model = g.build();
    const ranges = new Map([
      ['x', { min: -2, max: 2 }],
      ['r1', { min: 0, max: 4 }],
    ]);
    const x = new ort.Tensor(
      'float32',
      Float32Array.from({ length: 50 }, () => gaussian(rng)),
      [1, 2, 5, 5],
    );
    for (const bits of [7, 8] as const) {
      const q = toQdq(model, { ranges, activationBits: bits, keepFp32: new Set() });
      const opsOf = (q.graph?.node ?? []).map((n) => n.opType);
      expect(opsOf.filter((o) => o === 'Clip')).toHaveLength(bits === 7 ? 2 : 0);
      expect(opsOf.filter((o) => o === 'QuantizeLinear')).toHaveLength(2);
      expect(opsOf.filter((o) => o === 'DequantizeLinear')).toHaveLength(4);
      const session = await ort.InferenceSession.create(encodeModel(q), { graphOptimizationLevel: 'all' });
      const y = (await session.run({ x })).y!.data as Float32Array;
      expect(y.every(Number.isFinite)).toBe(true);
      await session.release();
    }
  });
});

describe('train --quantize int8', () => {
  it('stores model.int8.onnx with its checksum and gate in the manifest; onnxruntime-node runs it', async () => {
    const out = tmpDir('int8-train');
    const testData = 'opencv-digits:skip-per-class=30:per-class=30';
    const r = await runTraining({
      backbone,
      data: 'opencv-digits:per-class=30',
      testData,
      name: 'digits',
      seed: 3,
      out,
      quantize: 'int8',
      cacheDir: tmpDir('int8-features'),
    });
    const manifest = readManifest(out);
    const v = manifest.variants?.[0];
    expect(v).toBeDefined();
    expect(r.int8).toEqual(v);
    expect(v!.published).toBe(true);
    expect(v!.reason).toBeUndefined();
    const bytes = new Uint8Array(fs.readFileSync(path.join(out, v!.file!)));
    expect(v!.sha256).toBe(sha256(bytes));
    expect(v!.size).toBe(bytes.byteLength);
    // int8 weights: well under a third of the fp32 file.
    expect(v!.size!).toBeLessThan(manifest.model.size / 3);
    expect(v!.gate.samples).toBe(300);
    expect(v!.gate.fp32Accuracy).toBe(r.accuracy);
    expect(v!.gate.accuracyDropPoints).toBeLessThanOrEqual(0.5);
    expect(v!.gate.top1Agreement).toBeGreaterThanOrEqual(0.99);
    expect(v!.gate.embeddingCosine).toBeGreaterThan(0.99);

    // QDQ form, and its accuracy as recorded, recomputed here from an independent run.
    const ops = new Set((decodeModel(bytes).graph?.node ?? []).map((n) => n.opType));
    expect(ops).toContain('QuantizeLinear');
    expect(ops).toContain('DequantizeLinear');
    const test = await loadDataset(testData, { seed: 3 });
    const spec = manifest.preprocess;
    const x = imagesToTensor(
      test.samples.map((s) => s.image),
      spec,
    );
    const session = await ort.InferenceSession.create(bytes);
    const res = await session.run({ input: new ort.Tensor('float32', x, [test.samples.length, 1, 28, 28]) });
    const p = res.probabilities!.data as Float32Array;
    let right = 0;
    test.samples.forEach((s, i) => {
      const row = Array.from(p.subarray(i * 10, i * 10 + 10));
      if (manifest.labels[row.indexOf(Math.max(...row))] === test.labels[s.label]) right++;
    });
    await session.release();
    expect(right / test.samples.length).toBeCloseTo(v!.gate.accuracy, 10);
    expect(fs.readFileSync(path.join(out, 'report.html'), 'utf8')).toContain('int8 variant published');

    // Its engine artifact beside it, listed with checksum and format, compiled from exactly this
    // file: a session from it computes bit for bit what one compiled from the ONNX file does.
    const e = v!.engine!;
    expect(e.file).toBe('model.int8.engine');
    expect(e.format).toBe(ENGINE_ARTIFACT_FORMAT);
    const engineBytes = new Uint8Array(fs.readFileSync(path.join(out, e.file)));
    expect(e.sha256).toBe(sha256(engineBytes));
    expect(e.size).toBe(engineBytes.byteLength);
    const decoded = decodeEngineArtifact(engineBytes, v!.sha256!);
    if (!decoded.ok) throw new Error(decoded.reason);
    const kernels = loadKernelModules({ relaxed: false });
    const feeds = { input: { data: x.subarray(0, 4 * 28 * 28), dims: [4, 1, 28, 28] } };
    const compiled = (await createEngineSession(bytes, kernels)).runSync(feeds);
    const refused: string[] = [];
    const restored = (
      await createEngineSession(bytes, kernels, {
        weights: decoded.artifact.snapshot,
        onWeightsRefused: (why) => refused.push(why),
      })
    ).runSync(feeds);
    expect(refused).toEqual([]);
    for (const k of Object.keys(compiled))
      expect(new Uint32Array(restored[k]!.data.buffer), k).toEqual(new Uint32Array(compiled[k]!.data.buffer));

    // Published: the registry stores the variant beside the model, checksum-verified.
    const store = openStore(`file://${tmpDir('int8-store')}`);
    const pub = await publishExportDir(store, 'digits', out);
    const stored = await store.get(keys.versionFile('digits', pub.version, 'model.int8.onnx'));
    expect(stored).not.toBeNull();
    const storedEngine = await store.get(keys.versionFile('digits', pub.version, 'model.int8.engine'));
    expect(storedEngine?.body).toEqual(engineBytes);
    // A tampered engine artifact is refused like the variant itself.
    fs.writeFileSync(path.join(out, 'model.int8.engine'), engineBytes.subarray(1));
    await expect(publishExportDir(store, 'digits', out)).rejects.toThrow(/model\.int8\.engine: sha256/);
    fs.writeFileSync(path.join(out, 'model.int8.engine'), engineBytes);
    // A tampered variant file is refused.
    fs.writeFileSync(path.join(out, 'model.int8.onnx'), bytes.subarray(0, bytes.length - 1));
    await expect(publishExportDir(store, 'digits', out)).rejects.toThrow(/model\.int8\.onnx: sha256/);
  }, 900_000);
});

/**
 * conv(4 filters, 3×3/2) → Relu → conv 1×1 with 2 channels whose weights differ by 1e-4 → GAP →
 * head (e1 − e0)·1000, with a bias that splits the held-out images about evenly in fp32. Int8
 * rounds both channels' weights to (almost) the same codes, so the sign of e1 − e0 is lost.
 */
async function tinyMarginExport(
  dir: string,
  heldOut: Float32Array,
  n: number,
  preprocess: PreprocessSpec,
): Promise<void> {
  const rng = createRng(11);
  const randn = (k: number, s: number) => Float32Array.from({ length: k }, () => gaussian(rng) * s);
  const w2base = Float32Array.from({ length: 4 }, () => 0.5 + Math.abs(gaussian(rng)));
  const w2 = new Float32Array(8);
  for (let i = 0; i < 4; i++) {
    w2[i] = w2base[i]!;
    w2[4 + i] = w2base[i]! * (1 + 1e-4 * gaussian(rng));
  }
  const w1data = randn(4 * 9, 0.5);
  const build = (bias: number) => {
    const g = new GraphBuilder({ name: 'tiny-margin', opset: 17 });
    g.input('input', ['N', 1, 28, 28]);
    const w1 = g.initializer('w1', w1data, [4, 1, 3, 3]);
    const [c1] = g.node(
      'Conv',
      ['input', w1],
      ['c1'],
      { strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) },
      { name: 'conv1' },
    );
    const [r1] = g.node('Relu', [c1!], ['r1']);
    const [c2] = g.node('Conv', [r1!, g.initializer('w2', w2, [2, 4, 1, 1])], ['c2'], {}, { name: 'conv2' });
    const [p] = g.node('GlobalAveragePool', [c2!], ['p']);
    const [emb] = g.node('Flatten', [p!], ['embedding'], { axis: int(1) });
    const head = g.initializer('head_w', Float32Array.of(1000, -1000, -1000, 1000), [2, 2]);
    const hb = g.initializer('head_b', Float32Array.of(bias, -bias), [2]);
    const [logits] = g.node('Gemm', [emb!, head, hb], ['logits'], {}, { name: 'head' });
    g.node('Softmax', [logits!], ['probabilities'], { axis: int(-1) });
    g.output('probabilities', ['N', 2]);
    g.output('embedding', ['N', 2]);
    return g.toBytes();
  };
  // The fp32 margin e0 − e1 per image; the bias centres it so that fp32 predicts both classes.
  const probe = await ort.InferenceSession.create(build(0));
  const e = (await probe.run({ input: new ort.Tensor('float32', heldOut, [n, 1, 28, 28]) })).embedding!
    .data as Float32Array;
  await probe.release();
  const margins = Array.from({ length: n }, (_, i) => e[2 * i]! - e[2 * i + 1]!).sort((a, b) => a - b);
  const bytes = build(-1000 * margins[Math.floor(n / 2)]!);
  fs.writeFileSync(path.join(dir, 'model.onnx'), bytes);
  const manifest = buildManifest({
    name: 'tiny',
    inputName: 'input',
    modelBytes: bytes,
    labels: ['0', '1'],
    preprocess,
    embeddingDim: 2,
    backbone: { source: 'constructed:tiny-margin' },
    metrics: {},
  });
  fs.writeFileSync(
    path.join(dir, 'report.html'),
    '<!doctype html><html><body><h1>tiny</h1>\n</body></html>\n',
  );
  fs.writeFileSync(path.join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}

describe('edgetune quantize: the accuracy gate', () => {
  it('a model whose margin is below int8 resolution is refused: fp32-only, reason in CLI, manifest, report', async () => {
    const dir = tmpDir('int8-tiny');
    const calibration = 'opencv-digits:classes=0-1:per-class=40';
    const testData = 'opencv-digits:classes=0-1:skip-per-class=40:per-class=60';
    const preprocess: PreprocessSpec = {
      width: 28,
      height: 28,
      channels: 1,
      layout: 'NCHW',
      resize: 'triangle',
      scale: 1,
      mean: [0],
      std: [1],
      invert: false,
    };
    const held = await loadDataset(testData, { seed: 1 });
    const x = imagesToTensor(
      held.samples.map((s) => s.image),
      preprocess,
    );
    await tinyMarginExport(dir, x, held.samples.length, preprocess);
    fs.writeFileSync(path.join(dir, 'model.int8.onnx'), 'stale file from an earlier run');
    fs.writeFileSync(path.join(dir, 'model.int8.engine'), 'stale file from an earlier run');

    const run = await runCli(['quantize', dir, '--calibration', calibration, '--test-data', testData]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      /^int8 variant NOT published: .*top-1 agrees with fp32 on \d+\.\d+% of 120 held-out images/m,
    );

    const manifest = readManifest(dir);
    const v = manifest.variants?.[0];
    expect(v?.published).toBe(false);
    expect(v?.file).toBeUndefined();
    expect(v?.reason).toMatch(/top-1 agrees with fp32/);
    expect(v!.gate.top1Agreement).toBeLessThan(0.99);
    expect(fs.existsSync(path.join(dir, 'model.int8.onnx'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'model.int8.engine'))).toBe(false);
    expect(v?.engine).toBeUndefined();
    const report = fs.readFileSync(path.join(dir, 'report.html'), 'utf8');
    expect(report).toContain('int8 variant NOT published');
    // Every calibration was measured; then the fp32 fallback: conv2 (the culprit) is 18 % of the
    // multiply-accumulates, over the fp32 budget, so only the head could stay fp32, and that fails.
    for (const method of ['minmax', 'percentile', 'mse'])
      expect(report).toContain(`<td>${method}</td><td>—</td>`);
    expect(report).toMatch(/<td>head<\/td>.*?<td>fail<\/td>/);
    expect(report).not.toMatch(/<td>[^<]*conv2[^<]*<\/td>/);
    expect(report).toContain(v!.reason!.replace(/&/g, '&amp;').slice(0, 40));

    // Published fp32-only: the store has the model and the manifest's reason, no int8 file.
    const store = openStore(`file://${tmpDir('int8-tiny-store')}`);
    const pub = await publishExportDir(store, 'tiny', dir);
    expect(pub.manifest.variants?.[0]?.published).toBe(false);
    expect(await store.get(keys.versionFile('tiny', pub.version, 'model.int8.onnx'))).toBeNull();
    expect(await store.get(keys.versionFile('tiny', pub.version, 'model.onnx'))).not.toBeNull();
  }, 600_000);

  it('manifests written before variants existed still parse (no variants key)', () => {
    const old = JSON.parse(
      fs.readFileSync(path.join(import.meta.dirname, '../../fixtures/manifest-v1.json'), 'utf8'),
    );
    expect(ModelManifestSchema.parse(old).variants).toBeUndefined();
  });

  it('a variant listed without an engine artifact (published before artifacts existed) still parses', () => {
    const variant = passedInt8Variant({ sha256: 'a'.repeat(64), size: 10 });
    expect(QuantizedVariantSchema.parse(variant).engine).toBeUndefined();
    const bad = { ...variant, engine: { file: 'model.int8.engine', sha256: 'x', size: 1, format: 1 } };
    expect(QuantizedVariantSchema.safeParse(bad).success).toBe(false);
  });
});
