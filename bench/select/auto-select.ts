/**
 * `auto_select_seconds`: how long `--select auto` searches on 10 labels × 10 classes with
 * MobileNetV2, from a cold feature cache, on photo-sized images: the OpenCV digits sheet with
 * every 20-px digit upscaled to PHOTO_SIDE px before the search. The content matters little for
 * the time, the images' size does for the scratch CNN, which trains at min(64 px, the images'
 * size) (`scratchSide`): at 64 px, as on a user's photos. `auto_select_small_images_seconds` is
 * the same search on the digits as they are (20 px, so the scratch CNN trains at 20 px).
 * The search gets twice the goal as its budget (the default 10 minutes would make `npm run bench`
 * ten minutes longer and only say "over"); what the budget cut is listed per configuration. The
 * breakdown says where the time goes: the one backbone pass for every candidate's activations,
 * heads on cached features, fine-tuning depths, the scratch CNN.
 *
 *   node --import tsx bench/select/auto-select.ts [--budget <seconds>] [--images photo|small]
 *     [--rows <file>]
 *   (both are part of `npm run bench`). `--rows` writes every configuration's per-split
 *   accuracies, skip reason and cut flag, the notes and the pick, as JSON: two runs' files are equal exactly when
 *   the searches scored the same splits with the same results (how kernel changes are checked).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadDataset, splitDataset } from '../../training/datasets/index.ts';
import { imageId } from '../../training/datasets/load.ts';
import { searchConfigurations } from '../../training/select/search.ts';
import { selectWorkers } from '../../training/select/split-pool.ts';
import { initTf } from '../../training/tf/backend.ts';
import { resolveBackbone } from '../../training/train/backbone.ts';
import { decodeTargetFor } from '../../shared/preprocess/preprocess.ts';
import { scratchSide } from '../../training/fit/baseline.ts';
import { resizeImage } from '../../shared/preprocess/resize.ts';
import type { Sample } from '../../training/datasets/types.ts';

export const AUTO_SELECT_GOAL_SECONDS = 60;
const BENCH_BUDGET_SECONDS = 2 * AUTO_SELECT_GOAL_SECONDS;
/** Side the digits are upscaled to for the photo-sized search: above the scratch CNN's 64-px cap. */
export const PHOTO_SIDE = 128;

/** `photo`: the digits upscaled to PHOTO_SIDE px; `small`: as they are (20 px). */
export type BenchImages = 'photo' | 'small';

export interface AutoSelectBench {
  auto_select_seconds: number;
  /**
   * CPU seconds (user + system) of this process during the search: what the search costs when
   * the box is shared (wall time then mostly measures the other jobs); onnxruntime's threads and
   * the search's worker threads (counted here: one process) make it exceed the wall time on an
   * idle box.
   */
  auto_select_cpu_seconds: number;
  /** Worker threads that trained the re-trained layers' and scratch CNN's splits (1: none). */
  workers: number;
  goal_seconds: number;
  task: string;
  backbone: string;
  budget_seconds: number;
  winner: string;
  configurations: {
    id: string;
    seconds: number;
    splits: number;
    cv_mean: number | null;
    skipped: string | null;
  }[];
  /** Lines for configurations stopped by racing or by the budget. */
  notes: string[];
  seconds_by_kind: {
    activations: number;
    heads_on_cached_features: number;
    fine_tuning: number;
    scratch: number;
  };
}

export async function autoSelectBench(
  log: (m: string) => void = () => {},
  budgetSeconds = BENCH_BUDGET_SECONDS,
  images: BenchImages = 'photo',
  /** Where to write what the search decided (every row's per-split accuracies, notes, pick). */
  rowsFile?: string,
): Promise<AutoSelectBench> {
  await initTf({ backend: 'wasm' });
  const data = 'opencv-digits:per-class=10';
  const backbone = await resolveBackbone('nsfwjs:MobileNetV2', log);
  const ds = await loadDataset(data, {
    seed: 1,
    cwd: process.cwd(),
    ...decodeTargetFor(backbone.preprocess),
  });
  const split = splitDataset(ds, { valFraction: 0.2, seed: 1 });
  const sized = (samples: readonly Sample[]): Sample[] =>
    images === 'photo'
      ? samples.map((x) => {
          const image = resizeImage(x.image, PHOTO_SIDE, PHOTO_SIDE);
          return { ...x, image, id: imageId(image) };
        })
      : [...samples];
  const train = { samples: sized(split.train.samples) };
  const val = { samples: sized(split.val.samples) };
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgetune-bench-select-'));
  try {
    const cpu0 = process.cpuUsage();
    const s = await searchConfigurations({
      backbone,
      train: train.samples,
      val: val.samples,
      classes: ds.labels.length,
      seed: 1,
      valFraction: 0.2,
      hyper: {},
      budgetSeconds,
      scratch: true,
      // As `--select auto` sizes it (auto.ts): the backbone's side, capped, and no larger than
      // the images (64 px for the photo-sized digits, 20 px for the digits as they are).
      scratchShape: {
        side: scratchSide(
          224,
          [...train.samples, ...val.samples].map((x) => x.image),
        ),
        channels: 3,
      },
      cacheDir,
      progress: { log, task: () => ({ tick() {}, done() {} }) },
    });
    const cpu = process.cpuUsage(cpu0);
    if (rowsFile) {
      const decided = s.rows.map((r) => ({ id: r.id, folds: r.folds, skipped: r.skipped, cut: r.cut }));
      fs.writeFileSync(
        rowsFile,
        JSON.stringify({ rows: decided, notes: s.skipped, winner: s.winner.id }, null, 2),
      );
    }
    const sum = (f: (r: (typeof s.rows)[number]) => boolean) =>
      Number(
        s.rows
          .filter(f)
          .reduce((a, r) => a + r.seconds, 0)
          .toFixed(1),
      );
    return {
      auto_select_seconds: Number(s.seconds.toFixed(1)),
      auto_select_cpu_seconds: Number(((cpu.user + cpu.system) / 1e6).toFixed(1)),
      workers: selectWorkers(),
      goal_seconds: AUTO_SELECT_GOAL_SECONDS,
      task: `${data} (10 labels × 10 classes)${images === 'photo' ? `, upscaled to ${PHOTO_SIDE} px` : ', 20 px'}, cold feature cache`,
      backbone: backbone.source,
      budget_seconds: s.budgetSeconds,
      winner: s.winner.id,
      configurations: s.rows.map((r) => ({
        id: r.id,
        seconds: r.seconds,
        splits: r.folds.length,
        cv_mean: r.mean,
        skipped: r.skipped,
      })),
      notes: s.skipped,
      seconds_by_kind: {
        activations: s.activationSeconds,
        heads_on_cached_features: sum((r) => r.kind === 'transfer' && r.trainable === 0),
        fine_tuning: sum((r) => r.trainable > 0),
        scratch: sum((r) => r.kind === 'scratch'),
      },
    };
  } finally {
    fs.rmSync(cacheDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // `--budget <seconds>`: let the whole plan run, to see where its time goes on a loaded machine.
  const i = process.argv.indexOf('--budget');
  const j = process.argv.indexOf('--images');
  const k = process.argv.indexOf('--rows');
  const images = j >= 0 ? process.argv[j + 1] : 'photo';
  if (images !== 'photo' && images !== 'small') throw new Error('--images takes photo or small');
  const r = await autoSelectBench(
    (m) => console.error(m),
    i >= 0 ? Number(process.argv[i + 1]) : undefined,
    images,
    k >= 0 ? process.argv[k + 1] : undefined,
  );
  console.log(JSON.stringify(r, null, 2));
}
