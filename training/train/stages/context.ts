/**
 * What every stage of `runTraining` shares: the options, where to log, the warnings collected
 * for the result, and the per-stage timings (seconds, under the keys the result reports).
 */
import type { TrainOptions } from '../options.ts';
import { type Progress, silentProgress } from '../progress.ts';

export interface StageContext {
  options: TrainOptions;
  progress: Progress;
  cwd: string;
  seed: number;
  valSplit: number;
  warnings: string[];
  /** Logs a warning and keeps it for the result. */
  warn(message: string): void;
  timings: Record<string, number>;
  /** Records the seconds since `since` (a `performance.now()` mark) under `key`. */
  lap(key: string, since: number): void;
}

export function createStageContext(options: TrainOptions): StageContext {
  const progress = options.progress ?? silentProgress;
  const warnings: string[] = [];
  const timings: Record<string, number> = {};
  return {
    options,
    progress,
    cwd: options.cwd ?? process.cwd(),
    seed: options.seed ?? 1,
    valSplit: options.valSplit ?? 0.2,
    warnings,
    warn: (m) => {
      warnings.push(m);
      progress.log(`warning: ${m}`);
    },
    timings,
    lap: (key, since) => {
      timings[key] = Number(((performance.now() - since) / 1000).toFixed(3));
    },
  };
}
