import { retrainFromPipeline } from './retrain.ts';
import type { RetrainFunction } from './types.ts';

/**
 * The retrain step `edgetune worker` uses when no `--retrain <module>` is given: the training
 * pipeline (retrain.ts: stable's recipe + base dataset + accepted feedback → runTraining →
 * publish unrouted → candidate and stable evaluated on the same holdout).
 */
export const defaultRetrain: RetrainFunction | null = retrainFromPipeline;
