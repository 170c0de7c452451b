/**
 * Node side of tests/workers/fixed-batch.test.ts, called from the workers global setup: torch.onnx
 * fixtures served with their batch fixed (NOT freed), a Softmax on the logits as `probabilities`
 * and the input of the final Gemm as `embedding`: MobileNetV3-Small as exported (batch 1), and
 * ResNet-18 fixed at batch 1 and at batch 2 — its random weights still tell the three request
 * images apart (MobileNetV3's give every image the same scores), so a mixed-up or padded item
 * would show. The manifests pass the check publish runs (shared/manifest/check-graph.ts).
 * References: onnxruntime-node on each image alone (a batch-2 graph gets it twice), on the tensor
 * the shared preprocessing makes.
 */
import fs from 'node:fs';
import { createHash } from 'node:crypto';
import * as ort from 'onnxruntime-node';
import type { TestProject } from 'vitest/node';
import { assertManifestMatchesGraph } from '../../shared/manifest/check-graph.ts';
import { type ModelManifestInput, ModelManifestSchema } from '../../shared/manifest/manifest.ts';
import { PreprocessSpecSchema } from '../../shared/manifest/preprocess.ts';
import { defaultFeatureTensor } from '../../shared/onnx/backbone-graph.ts';
import { makeValueInfo } from '../../shared/onnx/builder.ts';
import { decodeModel, encodeModel, type ModelProto, TensorDataType } from '../../shared/onnx/proto.ts';
import { inferShapes } from '../../shared/onnx/shapes.ts';
import { preprocessBytes } from '../../shared/preprocess/preprocess.ts';
import { presetValues } from '../../shared/preprocess/presets.ts';
import type { FixedBatchFixtures } from './fixed-batch-fixtures.ts';

const fixture = (f: string) => new URL(`../fixtures/foreign/${f}.onnx`, import.meta.url);
const PHOTOS = ['chelsea.png', 'coffee.png', 'hubble_deep_field.jpg'].map(
  (f) => new URL(`../../data/photos/${f}`, import.meta.url),
);
const LABELS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

/** The fixture with `probabilities` (Softmax of the logits) and its embedding as outputs, batch `b`. */
function classifierAtBatch(
  source: ModelProto,
  b: number,
  side: number,
): { model: ModelProto; embedding: string; dim: number } {
  const embedding = defaultFeatureTensor(source);
  const dim = inferShapes(source).get(embedding)?.shape?.[1];
  if (typeof dim !== 'number') throw new Error(`embedding ${embedding} has no static width`);
  const g = source.graph!;
  const input = g.input![0]!;
  return {
    embedding,
    dim,
    model: {
      ...source,
      graph: {
        ...g,
        input: [makeValueInfo(input.name!, TensorDataType.FLOAT, [b, 3, side, side]), ...g.input!.slice(1)],
        node: [
          ...g.node!,
          { opType: 'Softmax', input: ['logits'], output: ['probabilities'], attribute: [] },
        ],
        output: [
          makeValueInfo('probabilities', TensorDataType.FLOAT, [b, LABELS.length]),
          makeValueInfo(embedding, TensorDataType.FLOAT, [b, dim]),
        ],
        valueInfo: [],
      },
    },
  };
}

const CASES = [
  { fixture: 'mobilenet_v3_small', side: 96, batch: 1 },
  { fixture: 'resnet18', side: 64, batch: 1 },
  { fixture: 'resnet18', side: 64, batch: 2 },
];

export async function provideFixedBatch(project: TestProject): Promise<void> {
  const images = PHOTOS.map((u) => new Uint8Array(fs.readFileSync(u)));
  const out: FixedBatchFixtures = { images: images.map(b64), models: [] };
  for (const { fixture: name, side, batch } of CASES) {
    const source = decodeModel(new Uint8Array(fs.readFileSync(fixture(name))));
    const preprocess = PreprocessSpecSchema.parse({
      width: side,
      height: side,
      channels: 3,
      layout: 'NCHW',
      ...presetValues('imagenet'),
    });
    const tensors = images.map((bytes) => preprocessBytes(bytes, preprocess).data);
    const { model, embedding, dim } = classifierAtBatch(source, batch, side);
    const bytes = encodeModel(model);
    const manifest: ModelManifestInput = {
      schema: 1,
      name: `fixed-${name.replace(/_/g, '-')}-b${batch}`,
      createdAt: new Date().toISOString(),
      model: {
        file: 'model.onnx',
        sha256: createHash('sha256').update(bytes).digest('hex'),
        size: bytes.length,
      },
      input: { name: 'input', shape: [batch, 3, side, side] },
      outputs: { probabilities: 'probabilities', embedding, embeddingDim: dim },
      labels: LABELS,
      preprocess,
      backbone: { source: `onnx:tests/fixtures/foreign/${name}.onnx` },
      engines: ['onnxruntime', 'edgetune-wasm'],
    };
    // What every publish checks: the manifest's fixed batch matches the graph's.
    assertManifestMatchesGraph(ModelManifestSchema.parse(manifest), model, manifest.name);
    const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
    const references: number[][] = [];
    for (const t of tensors) {
      const data = new Float32Array(batch * t.length);
      for (let i = 0; i < batch; i++) data.set(t, i * t.length);
      const r = await session.run({ input: new ort.Tensor('float32', data, [batch, 3, side, side]) });
      references.push(Array.from((r.probabilities!.data as Float32Array).slice(0, LABELS.length)));
    }
    await session.release();
    out.models.push({ fixture: name, batch, manifest, model: b64(bytes), references });
  }
  project.provide('fixedBatch', out);
}
