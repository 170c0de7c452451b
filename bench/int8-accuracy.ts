/**
 * int8 accuracy in `npm run bench`: each bench model's int8 variant is made the way `train
 * --quantize int8` makes it (calibration on its training images, the default recipe, the
 * accuracy gate on its held-out images) and the accuracy drop vs fp32 is reported, with what the
 * recipe chose. Nothing is written into the exports: the edge part of the bench serves them as
 * trained. Besides the reference (photos) and digits models, MobileNetV2 on the digits sheet: 300
 * held-out images whose fp32 margins are thin, the case where post-training int8 is hard.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ModelManifestSchema } from '../shared/manifest/manifest.ts';
import { decodeTargetFor } from '../shared/preprocess/preprocess.ts';
import { loadDataset } from '../training/datasets/index.ts';
import { DEFAULT_CALIBRATION_SAMPLES } from '../training/quantize/export-dir.ts';
import { quantizeInt8 } from '../training/quantize/variant.ts';
import { RECIPE_FILE, TrainingRecipeSchema } from '../training/train/recipe.ts';
import { silentProgress } from '../training/train/progress.ts';
import { runTraining } from '../training/train/run.ts';
import { BENCH_DIR, type BenchModel } from './models.ts';
import { round } from './stats.ts';

export interface Int8Accuracy {
  accuracy_drop_points: number;
  fp32_accuracy: number;
  int8_accuracy: number;
  top1_agreement: number;
  embedding_cosine: number;
  held_out_images: number;
  published: boolean;
  calibration: string;
  activation_bits: number;
  fp32_nodes: string[];
  int8_bytes: number | null;
  fp32_bytes: number;
  seconds: number;
}

async function measure(
  exportDir: string,
  heldOut: { images: BenchModel['test']['images']; labels: readonly number[] },
  log: (m: string) => void,
): Promise<Int8Accuracy> {
  const t = performance.now();
  const manifest = ModelManifestSchema.parse(
    JSON.parse(fs.readFileSync(path.join(exportDir, 'manifest.json'), 'utf8')),
  );
  const fp32 = new Uint8Array(fs.readFileSync(path.join(exportDir, manifest.model.file)));
  const recipe = TrainingRecipeSchema.parse(
    JSON.parse(fs.readFileSync(path.join(exportDir, RECIPE_FILE), 'utf8')),
  );
  const train = await loadDataset(recipe.data, {
    seed: recipe.options.seed,
    cwd: recipe.cwd,
    ...decodeTargetFor(manifest.preprocess),
  });
  const outcome = await quantizeInt8(fp32, {
    calibration: train.samples.slice(0, DEFAULT_CALIBRATION_SAMPLES).map((s) => s.image),
    heldOut: { images: heldOut.images, labels: Int32Array.from(heldOut.labels) },
    preprocess: manifest.preprocess,
    log,
  });
  const v = outcome.variant;
  return {
    accuracy_drop_points: round(v.gate.accuracyDropPoints, 2),
    fp32_accuracy: round(v.gate.fp32Accuracy, 4),
    int8_accuracy: round(v.gate.accuracy, 4),
    top1_agreement: round(v.gate.top1Agreement, 4),
    embedding_cosine: round(v.gate.embeddingCosine, 5),
    held_out_images: v.gate.samples,
    published: v.published,
    calibration: v.scheme.calibration,
    activation_bits: v.scheme.activationBits,
    fp32_nodes: v.scheme.fp32Nodes,
    int8_bytes: outcome.bytes?.byteLength ?? null,
    fp32_bytes: fp32.byteLength,
    seconds: round((performance.now() - t) / 1000, 1),
  };
}

/** MobileNetV2 (nsfwjs, frozen) + head on the OpenCV digits sheet, 300 held-out images. */
async function mobilenetDigits(log: (m: string) => void) {
  const dir = path.join(BENCH_DIR, 'int8-mobilenetv2-digits');
  const testData = 'opencv-digits:skip-per-class=30:per-class=30';
  const train = await runTraining({
    backbone: 'nsfwjs:MobileNetV2',
    data: 'opencv-digits:per-class=30',
    testData,
    name: 'mnv2digits',
    seed: 1,
    out: path.join(dir, 'export'),
    device: 'cpu',
    progress: { ...silentProgress, log },
  });
  const manifest = ModelManifestSchema.parse(JSON.parse(fs.readFileSync(train.files.manifest, 'utf8')));
  const test = await loadDataset(testData, { seed: 1, ...decodeTargetFor(manifest.preprocess) });
  const index = new Map(train.labels.map((l, i) => [l, i]));
  return {
    dir: train.outDir,
    images: test.samples.map((s) => s.image),
    labels: test.samples.map((s) => index.get(test.labels[s.label]!)!),
  };
}

export async function int8AccuracyBench(
  models: readonly BenchModel[],
  log: (m: string) => void,
  options: { mobilenetDigits?: boolean } = {},
): Promise<{
  int8_accuracy_drop_points: Record<string, number>;
  int8_accuracy: Record<string, Int8Accuracy>;
}> {
  const rows: Record<string, Int8Accuracy> = {};
  for (const m of models) {
    log(
      `${m.name}: int8 variant (default recipe) and its accuracy gate on ${m.test.images.length} held-out images`,
    );
    rows[m.name] = await measure(m.train.outDir, m.test, log);
  }
  // Training it and the per-layer sensitivity search took 20 minutes on 2 cores: opt-in, so
  // `npm run bench` stays short; bench/int8-accuracy-run.ts runs it always.
  if (options.mobilenetDigits ?? process.env.BENCH_INT8_MOBILENET_DIGITS === '1') {
    log(
      'mobilenetv2-digits: MobileNetV2 head on the digits sheet, int8 variant and its gate (300 held-out images)',
    );
    const mnv2 = await mobilenetDigits(log);
    rows['mobilenetv2-digits'] = await measure(mnv2.dir, mnv2, log);
  } else {
    log('mobilenetv2-digits: skipped (BENCH_INT8_MOBILENET_DIGITS=1 runs it, about 20 minutes on 2 cores)');
  }
  return {
    int8_accuracy_drop_points: Object.fromEntries(
      Object.entries(rows).map(([k, r]) => [k, r.accuracy_drop_points]),
    ),
    int8_accuracy: rows,
  };
}
