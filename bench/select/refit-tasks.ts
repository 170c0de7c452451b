/**
 * Two tasks of bench/select/tasks.ts, for the scripts that fit a pick alone, without a search
 * (export-fit.ts, export-check.ts): the negative-transfer case (mnist 5–9 on a backbone pretrained
 * on digits 0–4 only) and the OpenCV digits (on the demo's quick mnist backbone), 10 labels per
 * class each. tasks.ts runs its own definitions at import, so they are repeated here as data.
 */
import fs from 'node:fs';
import path from 'node:path';
import { cachedPretrainedBackbone } from '../../training/train/cached-backbone.ts';
import type { TaskResult } from './tasks.ts';

export interface RefitTask {
  data: string;
  testData: string;
  /** Labelled images (train + validation): 10 per class. */
  labelled: number;
  /** The backbone's file (built once per cache directory). */
  backbone: () => Promise<string>;
}

const mnistBackbone = (data: string, epochs: number) => async () =>
  (await cachedPretrainedBackbone({ data, arch: 'small-cnn', epochs, seed: 1, backend: 'wasm' })).path;

export const REFIT_TASKS: Record<'negative' | 'digits', RefitTask> = {
  negative: {
    data: 'mnist:classes=5-9:per-class=10',
    testData: 'mnist:classes=5-9:skip-per-class=10:per-class=200',
    labelled: 50,
    backbone: mnistBackbone('mnist:classes=0-4', 3),
  },
  digits: {
    data: 'opencv-digits:per-class=10',
    testData: 'opencv-digits:skip-per-class=10:per-class=110',
    labelled: 100,
    backbone: mnistBackbone('mnist:per-class=200', 2),
  },
};

/** A recorded search of the task: the 10-fold negative-transfer seeds 1–3 are in results-k10.json. */
export function recordedRun(task: keyof typeof REFIT_TASKS, seed: number): TaskResult {
  const file = task === 'negative' && seed <= 3 ? 'results-k10.json' : `results-${task}-${seed}.json`;
  const runs = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, file), 'utf8')) as TaskResult[];
  return runs.find((r) => r.task === task && r.seed === seed)!;
}
