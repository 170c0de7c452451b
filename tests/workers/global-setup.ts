/**
 * Runs in Node before the workers tests: builds the edge fixtures (bench/edge-models.ts)
 * and computes the Node-side reference outputs for every (version, image) pair with
 * onnxruntime-node and the same shared preprocessing the edge uses. Everything is handed to the
 * tests through `provide` (serialisable: bytes as base64).
 */
import * as ort from 'onnxruntime-node';
import type { TestProject } from 'vitest/node';
import { ModelManifestSchema } from '../../shared/manifest/manifest.ts';
import { preprocessBytes } from '../../shared/preprocess/preprocess.ts';
import {
  EDGE_SEEDS,
  type EdgeExport,
  type EdgeImage,
  edgeExport,
  edgeImages,
  edgeOrtOnlyExport,
} from '../../bench/edge-models.ts';
import type { EdgeFixtures } from './fixtures.ts';
import { provideEngineReference } from './engine-setup.ts';
import { providePhotoReference } from './photo-setup.ts';
import { provideFixedBatch } from './fixed-batch-setup.ts';
import { provideInt8Reference } from './int8-setup.ts';
import { isolateTmp } from '../tmp-root.ts';

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

async function nodeReferences(exp: EdgeExport, images: EdgeImage[]) {
  const manifest = ModelManifestSchema.parse(exp.manifest);
  const session = await ort.InferenceSession.create(exp.files[manifest.model.file]!, {
    intraOpNumThreads: 1,
    executionProviders: ['cpu'],
  });
  const perImage: EdgeFixtures['references'][number] = {};
  for (const image of images) {
    const input = preprocessBytes(image.bytes, manifest.preprocess);
    const out = await session.run({
      [manifest.input.name]: new ort.Tensor('float32', input.data, input.dims),
    });
    perImage[image.id] = {
      probabilities: Array.from(out[manifest.outputs.probabilities]!.data as Float32Array),
      embedding: Array.from(out[manifest.outputs.embedding]!.data as Float32Array),
    };
  }
  await session.release();
  return perImage;
}

const serialise = (e: EdgeExport) => ({
  manifest: e.manifest,
  files: Object.fromEntries(Object.entries(e.files).map(([k, v]) => [k, b64(v)])),
});

export default async function setup(project: TestProject): Promise<() => void> {
  const restoreTmp = isolateTmp();
  const images = edgeImages();
  const exports = EDGE_SEEDS.map((seed) => edgeExport(seed));
  const references: EdgeFixtures['references'] = [];
  for (const exp of exports) references.push(await nodeReferences(exp, images));
  const ortOnly = edgeOrtOnlyExport();
  const fixtures: EdgeFixtures = {
    exports: exports.map(serialise),
    ortOnly: { ...serialise(ortOnly), references: await nodeReferences(ortOnly, images) },
    images: images.map((i) => ({ id: i.id, contentType: i.contentType, base64: b64(i.bytes) })),
    references,
    // One preprocessed input, for the V2 FP32 tensor path.
    tensor: {
      imageId: images[0]!.id,
      data: Array.from(
        preprocessBytes(images[0]!.bytes, ModelManifestSchema.parse(exports[0]!.manifest).preprocess).data,
      ),
    },
  };
  project.provide('edgeFixtures', fixtures);
  // Engine: its own reference, computed in tests/workers/engine-setup.ts.
  await provideEngineReference(project);
  // Photo decoders: Node's decode of a small corpus, compared bit for bit inside workerd.
  await providePhotoReference(project);
  // A torch.onnx graph served with its batch fixed (tests/workers/fixed-batch.test.ts).
  await provideFixedBatch(project);
  // Engine int8 kernels: onnxruntime-node outputs of the int8 fixture graphs.
  await provideInt8Reference(project);
  return restoreTmp;
}
