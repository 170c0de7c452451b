/**
 * What the search's one pass saves: the activations `--select auto` needs (3 candidate layers and
 * 2 fine-tuning boundaries of MobileNetV2, 100 images: 10 OpenCV digits × 10 classes at 224 px)
 * computed once per boundary — one onnxruntime session and preprocessing pass each, as the search
 * did before — and in one pass with an output per boundary. Cold feature cache every time; the two
 * ways alternate, so a busy machine slows both alike. Wall and process CPU seconds (user + system,
 * which load inflates far less than wall time).
 *
 *   EDGETUNE_CACHE_DIR=... node --import tsx bench/select/activations.ts [--rounds 2]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { vectorFeature } from '../../shared/onnx/backbone-graph.ts';
import { encodeModel } from '../../shared/onnx/proto.ts';
import { inferShapes } from '../../shared/onnx/shapes.ts';
import { cutAt } from '../../shared/onnx/surgery.ts';
import { decodeTargetFor } from '../../shared/preprocess/preprocess.ts';
import { loadDataset } from '../../training/datasets/index.ts';
import { extractFeatures } from '../../training/features/extract.ts';
import { earlierCutPoints } from '../../training/select/candidates.ts';
import { candidateInputs, sharedKeras } from '../../training/select/inputs.ts';
import { SEARCH_DEPTHS } from '../../training/select/search.ts';
import { initTf } from '../../training/tf/backend.ts';
import { resolveBackbone } from '../../training/train/backbone.ts';
import { planFreeze } from '../../training/train/plan.ts';
import { silentProgress } from '../../training/train/progress.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

async function measure(run: (cacheDir: string) => Promise<void>): Promise<{ wall: number; cpu: number }> {
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgetune-bench-activations-'));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  try {
    await run(cacheDir);
  } finally {
    fs.rmSync(cacheDir, { recursive: true, force: true });
  }
  const cpu = process.cpuUsage(cpu0);
  return { wall: (performance.now() - t0) / 1000, cpu: (cpu.user + cpu.system) / 1e6 };
}

await initTf({ backend: 'wasm' });
const loaded = await resolveBackbone('nsfwjs:MobileNetV2');
const shared = sharedKeras(loaded);
const backbone = shared.backbone;
const ds = await loadDataset('opencv-digits:per-class=10', {
  seed: 1,
  cwd: process.cwd(),
  ...decodeTargetFor(backbone.preprocess),
});
const feature = backbone.metadata.features[0]!.name;
const layers = [feature, ...earlierCutPoints(backbone.model, feature)];
// Plans are made once, outside the timing: both ways need them (the tfjs model loads once).
const plans = await Promise.all(SEARCH_DEPTHS.map((d) => planFreeze(backbone, undefined, d)));
const ctx = { backbone, samples: ds.samples, progress: silentProgress };

const perBoundary = (cacheDir: string) => async () => {
  for (const tensor of layers) {
    const v = vectorFeature(backbone.model, tensor);
    const dims = inferShapes(v.model).get(v.tensor)!.shape!.slice(1) as number[];
    await extractFeatures(
      {
        bytes: () => encodeModel(cutAt(v.model, v.tensor)),
        backboneSha256: backbone.sha256,
        boundary: v.tensor,
        itemDims: dims,
        preprocess: backbone.preprocess,
      },
      ds.samples,
      { cacheDir },
    );
  }
  for (const plan of plans) {
    await extractFeatures(
      {
        bytes: () => encodeModel(cutAt(backbone.model, plan.boundary)),
        backboneSha256: backbone.sha256,
        boundary: plan.boundary,
        itemDims: plan.boundaryDims,
        preprocess: backbone.preprocess,
      },
      ds.samples,
      { cacheDir },
    );
  }
};

const rounds = Number(arg('--rounds', '2'));
const rows: string[] = [];
for (let r = 0; r < rounds; r++) {
  const a = await measure((cacheDir) => perBoundary(cacheDir)());
  const b = await measure(async (cacheDir) => {
    await candidateInputs({ ...ctx, cacheDir }, layers, undefined, SEARCH_DEPTHS);
  });
  rows.push(
    `| ${r + 1} | ${a.wall.toFixed(1)} | ${a.cpu.toFixed(1)} | ${b.wall.toFixed(1)} | ${b.cpu.toFixed(1)} |`,
  );
}
shared.dispose();
console.log(
  [
    `${ds.samples.length} images, ${layers.length} layers + ${plans.length} fine-tuning boundaries of ${backbone.source}, load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
    '| round | one pass per boundary: wall s | CPU s | one pass for all: wall s | CPU s |',
    '|---|---|---|---|---|',
    ...rows,
  ].join('\n'),
);
