import { z } from 'zod';
import type { RetrainPolicy } from './schema.ts';

/**
 * The poisoned-feedback check. For a batch of new (untrusted) feedback, a reference model's
 * agreement is the share of labels equal to its prediction. With honest labels that share is
 * about the model's accuracy on the trusted holdout (it agrees with a true label exactly when it
 * is right); with labels unrelated to the image it is about chance (1 / number of classes). The
 * score puts agreement on that scale, (agreement − chance) ÷ (accuracy − chance): about 1 for
 * honest labels, about 0 for shuffled ones, whatever the number of classes. The score of the most accurate reference (stable or live
 * canary) is compared with `minFeedbackAgreement`: a weak model (a majority-class predictor
 * "agrees" with half of any balanced labelling) cannot vouch for labels a better one disputes.
 */
export const AgreementReferenceSchema = z.object({
  version: z.string(),
  role: z.enum(['stable', 'canary']),
  /** Labels in the batch equal to this model's prediction. */
  agreeing: z.number().int().nonnegative(),
  /** This model's accuracy on the trusted holdout. */
  holdoutAccuracy: z.number().min(0).max(1),
  /** Agreement expected from labels unrelated to the image: 1 / number of classes. */
  chance: z.number().min(0).max(1),
  /**
   * (agreement − chance) ÷ (holdoutAccuracy − chance); null when the model is hardly better than
   * chance on the holdout (a majority-class predictor cannot tell honest labels from shuffled).
   */
  score: z.number().nullable(),
});
export type AgreementReference = z.infer<typeof AgreementReferenceSchema>;

export const AgreementVerdictSchema = z.object({
  passed: z.boolean(),
  samples: z.number().int().nonnegative(),
  /** The most accurate reference's score (null: no reference could judge). */
  score: z.number().nullable(),
  /** Which version that was. */
  reference: z.string().nullable(),
  min: z.number(),
  references: z.array(AgreementReferenceSchema),
  reason: z.string(),
});
export type AgreementVerdict = z.infer<typeof AgreementVerdictSchema>;

/** A reference must beat chance on the holdout by this much to judge labels. */
const MIN_EDGE_OVER_CHANCE = 0.05;

export function judgeAgreement(
  samples: number,
  references: readonly Omit<AgreementReference, 'score'>[],
  policy: Pick<RetrainPolicy, 'minFeedbackAgreement' | 'minAgreementSamples'>,
): AgreementVerdict {
  const min = policy.minFeedbackAgreement;
  const refs = references.map((r) => ({
    ...r,
    score:
      samples > 0 && r.holdoutAccuracy - r.chance >= MIN_EDGE_OVER_CHANCE
        ? Math.round(((r.agreeing / samples - r.chance) / (r.holdoutAccuracy - r.chance)) * 1e6) / 1e6
        : null,
  }));
  let judge: AgreementReference | null = null;
  for (const r of refs) {
    if (r.score !== null && (judge === null || r.holdoutAccuracy > judge.holdoutAccuracy)) judge = r;
  }
  const score = judge?.score ?? null;
  const shown = refs
    .map(
      (r) =>
        `${r.role} ${r.version} agrees with ${r.agreeing}/${samples} labels (${pct(samples ? r.agreeing / samples : 0)}) at ${pct(r.holdoutAccuracy)} holdout accuracy`,
    )
    .join('; ');
  const base = { samples, score, reference: judge?.version ?? null, min, references: refs };
  if (min === 0) return { ...base, passed: true, reason: 'agreement check off (minFeedbackAgreement 0)' };
  if (samples < policy.minAgreementSamples) {
    return {
      ...base,
      passed: true,
      reason: `${samples} new untrusted samples: fewer than minAgreementSamples ${policy.minAgreementSamples}, not judged`,
    };
  }
  if (judge === null || score === null) {
    return {
      ...base,
      passed: true,
      reason: `not judged: no reference model is clearly better than chance on the holdout: ${shown}`,
    };
  }
  const verdict = `${samples} new samples, agreement score ${score.toFixed(2)} against ${judge.role} ${judge.version} (need ${min}): ${shown}`;
  return score >= min
    ? { ...base, passed: true, reason: `feedback looks honest: ${verdict}` }
    : { ...base, passed: false, reason: `feedback looks poisoned or noisy: ${verdict}` };
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}
