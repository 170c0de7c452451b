/**
 * Few-shot fixtures shared by the prototype tests and the bench: a published photo model (the
 * nsfwjs MobileNetV2 classifier as converted and cached by `nsfwjsOnnx`, its 1280-d `flatten_1`
 * exposed as the embedding) and classes of photo crops cut from data/ (each crop a different
 * place, size and mirroring, so examples and held-out images never repeat).
 */
import fs from 'node:fs';
import path from 'node:path';
import { createEngineSession, supports } from '../shared/engine/index.ts';
import { EdgetuneError } from '../shared/errors.ts';
import { ENGINE_IDS } from '../shared/inference/engines.ts';
import type { ModelManifestInput } from '../shared/manifest/manifest.ts';
import { decodeImage } from '../shared/preprocess/decode.ts';
import { resizeImage } from '../shared/preprocess/resize.ts';
import type { RawImage } from '../shared/preprocess/types.ts';
import { addOutputs } from '../shared/onnx/surgery.ts';
import { decodeModel, encodeModel } from '../shared/onnx/proto.ts';
import { sha256Hex } from '../shared/store/digest.ts';
import { loadKernelModules } from '../kernels/node-kernels.ts';
import { nsfwjsLabels, nsfwjsOnnx, nsfwjsSource } from '../training/backbones/nsfwjs.ts';
import { cropImage, encodePng, mirrorImage } from '../training/images/edit.ts';
import { projectRoot } from '../local-edge/bundle.ts';

/** Class name → source image under data/. */
export const PHOTO_CLASSES = {
  cat: 'photos/chelsea.png',
  coffee: 'photos/coffee.png',
  galaxies: 'photos/hubble_deep_field.jpg',
  digits: 'opencv-digits/digits.png',
} as const;
export type PhotoClass = keyof typeof PHOTO_CLASSES;

const sources = new Map<PhotoClass, RawImage>();
function source(cls: PhotoClass): RawImage {
  let img = sources.get(cls);
  if (!img) {
    const d = decodeImage(
      new Uint8Array(fs.readFileSync(path.join(projectRoot, 'data', PHOTO_CLASSES[cls]))),
    );
    img = { width: d.width, height: d.height, channels: d.channels, data: d.data };
    sources.set(cls, img);
  }
  return img;
}

/** Crop number `i` of a class as a PNG: 40–75 % of each side, at a position that moves with i. */
export function photoCrop(cls: PhotoClass, i: number): Uint8Array {
  const raw = source(cls);
  const fw = 0.4 + 0.05 * (i % 8);
  const fh = 0.45 + 0.05 * ((i * 3) % 7);
  const w = Math.floor(raw.width * fw);
  const h = Math.floor(raw.height * fh);
  // Golden-ratio steps spread the corners over the free area without repeating.
  const x = Math.floor((raw.width - w) * ((i * 0.618034) % 1));
  const y = Math.floor((raw.height - h) * ((i * 0.381966 + 0.2) % 1));
  let c = cropImage(raw, x, y, w, h);
  if (i % 2 === 1) c = mirrorImage(c);
  return encodePng(resizeImage(c, 96 + 7 * (i % 9), 80 + 9 * (i % 7)));
}

/** `count` crops of each class, numbered from `first`. */
export function photoExamples(
  classes: readonly PhotoClass[],
  count: number,
  first = 0,
): { label: PhotoClass; png: Uint8Array }[] {
  return classes.flatMap((label) =>
    Array.from({ length: count }, (_, k) => ({ label, png: photoCrop(label, first + k) })),
  );
}

/**
 * The nsfwjs MobileNetV2 classifier as an export (manifest + files) with its `flatten_1` pooled
 * features as the embedding output; it lists the engine only after the engine matched
 * onnxruntime-node on one crop (what training's export gate does).
 */
export async function nsfwjsPhotoExport(
  name: string,
): Promise<{ manifest: ModelManifestInput; files: Record<string, Uint8Array> }> {
  const base = decodeModel((await nsfwjsOnnx('MobileNetV2')).bytes);
  const model = addOutputs(base, ['flatten_1']);
  const input = model.graph?.input?.[0]?.name;
  const probabilities = base.graph?.output?.[0]?.name;
  const preprocess = model.metadataProps?.find((p) => p.key === 'edgetune.preprocess')?.value;
  if (!input || !probabilities || !preprocess) throw new EdgetuneError('corrupt', 'unexpected nsfwjs graph');
  const bytes = encodeModel(model);
  const engines: string[] = [ENGINE_IDS.onnxruntime];
  if (supports(model).ok) {
    const ort = await import('../training/inference/ort-node.ts');
    const { preprocessBytes } = await import('../shared/preprocess/preprocess.ts');
    const x = preprocessBytes(photoCrop('cat', 0), JSON.parse(preprocess));
    const ref = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
    const want = (await ref.run({ [input]: new ort.Tensor('float32', x.data, x.dims) }))[probabilities]!
      .data as Float32Array;
    await ref.release();
    const engine = await createEngineSession(model, loadKernelModules({ relaxed: false }));
    const got = engine.runSync({ [input]: { data: x.data, dims: x.dims } })[probabilities]!.data;
    engine.release();
    if (want.every((v, k) => Math.abs(v - got[k]!) <= 1e-4)) engines.push(ENGINE_IDS.wasm);
  }
  const manifest: ModelManifestInput = {
    schema: 1,
    name,
    createdAt: new Date().toISOString(),
    model: { file: 'model.onnx', sha256: await sha256Hex(bytes), size: bytes.byteLength },
    input: { name: input, shape: ['N', 3, 224, 224] },
    outputs: { probabilities, embedding: 'flatten_1', embeddingDim: 1280 },
    labels: nsfwjsLabels(),
    preprocess: JSON.parse(preprocess),
    backbone: { source: nsfwjsSource('MobileNetV2'), featureTensor: 'flatten_1' },
    engines,
  };
  return { manifest, files: { 'model.onnx': bytes } };
}
