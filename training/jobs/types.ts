import type { RetrainOutcomeInput, RetrainPolicy, Job } from '../../shared/jobs/schema.ts';
import type { ObjectStore } from '../../shared/store/types.ts';
import type { DeviceChoice } from '../device.ts';
import type { ScreenFeedback } from './screen.ts';

/** What the retrain step gets besides the job. */
export interface RetrainContext {
  store: ObjectStore;
  /** The model's policy at claim time (defaults when it has none). */
  policy: RetrainPolicy;
  device: DeviceChoice;
  /** Feedback received after this instant is "new" for this job (null: all of it). */
  since: Date | null;
  /** Appends a line to the job's stored log (flushed with every heartbeat) and prints it. */
  log: (message: string) => void;
  /**
   * The poisoned-feedback check: call it with the job's new untrusted feedback records and each
   * reference model's agreement with their labels BEFORE training. It throws (after moving the
   * batch to quarantine) when the batch is refused; the job then stops with nothing published.
   */
  screenFeedback: ScreenFeedback;
  /** Aborted when this worker lost the job's lease: stop as soon as possible. */
  signal: AbortSignal;
}

/**
 * The retrain step, injected: train a candidate from the base dataset + accepted feedback,
 * PUBLISH it (shared/registry publishVersion, unrouted), and evaluate it and the current stable
 * on the same holdout. The worker decides routing from the returned metrics.
 */
export type RetrainFunction = (job: Job, ctx: RetrainContext) => Promise<RetrainOutcomeInput>;
