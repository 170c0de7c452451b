/**
 * The worker's side of the poisoned-feedback check (shared/jobs/agreement.ts): the retrain step
 * measures how the reference models' predictions agree with the new feedback, this judges it, and
 * when it fails moves the batch to quarantine and stops the job before anything is trained or
 * published.
 */
import {
  type AgreementReference,
  type AgreementVerdict,
  judgeAgreement,
} from '../../shared/jobs/agreement.ts';
import { quarantineFeedback } from '../../shared/feedback/quarantine.ts';
import type { FeedbackRecord } from '../../shared/feedback/schema.ts';
import type { RetrainPolicy } from '../../shared/jobs/schema.ts';
import { keys } from '../../shared/store/keys.ts';
import type { ObjectStore } from '../../shared/store/types.ts';

/** Thrown out of the retrain step when the feedback batch was refused; the job stops, not fails. */
export class FeedbackRefused extends Error {
  constructor(
    readonly verdict: AgreementVerdict,
    readonly quarantined: number,
    message: string,
  ) {
    super(message);
    this.name = 'FeedbackRefused';
  }
}

export type ScreenFeedback = (
  batch: readonly FeedbackRecord[],
  references: readonly Omit<AgreementReference, 'score'>[],
) => Promise<AgreementVerdict>;

export function createScreen(o: {
  store: ObjectStore;
  model: string;
  jobId: string;
  policy: RetrainPolicy;
  log: (m: string) => void;
  onVerdict: (v: AgreementVerdict) => void;
}): ScreenFeedback {
  return async (batch, references) => {
    const verdict = judgeAgreement(batch.length, references, o.policy);
    o.onVerdict(verdict);
    o.log(verdict.reason);
    if (verdict.passed) return verdict;
    const moved = await quarantineFeedback(o.store, o.model, batch, {
      reason: verdict.reason,
      job: o.jobId,
    });
    throw new FeedbackRefused(
      verdict,
      moved,
      `stopped: ${verdict.reason}; ${moved} samples moved to ${keys.feedbackQuarantinePrefix(o.model)} ` +
        `(edgetune feedback review ${o.model}), nothing published`,
    );
  };
}
