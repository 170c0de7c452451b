/**
 * The `auto_select_seconds` task as the search sees it (10 labels × 10 classes, MobileNetV2,
 * seed 1): the labelled images, their labels and the search's split plan, for the scripts that
 * time one part of the search (fine-tune-cpu.ts, scratch-cpu.ts).
 */
import { loadDataset, splitDataset } from '../../training/datasets/index.ts';
import { foldCount, splitPlan } from '../../training/select/folds.ts';
import { MAX_FOLDS } from '../../training/select/search.ts';
import { initTf } from '../../training/tf/backend.ts';
import { resolveBackbone } from '../../training/train/backbone.ts';
import { decodeTargetFor } from '../../shared/preprocess/preprocess.ts';

export async function loadSearchTask() {
  await initTf({ backend: 'wasm' });
  const backbone = await resolveBackbone('nsfwjs:MobileNetV2', () => {});
  const ds = await loadDataset('opencv-digits:per-class=10', {
    seed: 1,
    cwd: process.cwd(),
    ...decodeTargetFor(backbone.preprocess),
  });
  const { train, val } = splitDataset(ds, { valFraction: 0.2, seed: 1 });
  const labelled = [...train.samples, ...val.samples];
  const y = Int32Array.from(labelled, (s) => s.label);
  const classes = ds.labels.length;
  const plan = splitPlan(y, foldCount(y, classes, MAX_FOLDS), 1, 1, 0.2);
  return { backbone, labelled, y, classes, plan };
}
