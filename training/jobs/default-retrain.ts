import type { RetrainFunction } from './types.ts';

/**
 * The retrain step `edgetune worker` uses when no `--retrain <module>` is given. The training
 * pipeline (base dataset + accepted feedback from shared/feedback listFeedback/readFeedbackImage,
 * feature cache, fit, evaluate candidate and stable on one holdout, publishVersion) plugs in here:
 *   export const defaultRetrain: RetrainFunction | null = retrainFromPipeline;
 * Until then it is null and the worker refuses to claim jobs rather than fail them.
 */
export const defaultRetrain: RetrainFunction | null = null;
