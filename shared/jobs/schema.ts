import { z } from 'zod';
import { MetricsSchema } from '../manifest/manifest.ts';
import { NAME_PATTERN } from '../names.ts';
import { AgreementVerdictSchema } from './agreement.ts';

const Name = z.string().regex(NAME_PATTERN, 'must match [a-z0-9][a-z0-9_-]{0,63}');
const Timestamp = z.string().datetime();

/**
 * How a model is retrained, stored at `models/{name}/policy.json` (editable with `edgetune policy
 * set` or by hand). A model without a policy is never retrained by the scheduler.
 */
export const RetrainPolicySchema = z.object({
  schema: z.literal(1).default(1),
  /** Accepted feedback samples newer than the newest version that make a retrain due. */
  minNewSamples: z.number().int().min(1).max(10_000_000).default(50),
  /**
   * Seconds: a retrain is also due when the newest version is older than this and there is at
   * least one new sample. null = no age trigger.
   */
  maxAgeSeconds: z.number().int().positive().nullable().default(null),
  /** Percent of traffic a winning candidate gets (0 = publish, never route). */
  canaryWeight: z.number().min(0).max(100).default(10),
  /** The candidate must beat stable on `metric` by at least this much (absolute) to be routed. */
  minImprovement: z.number().min(0).max(1_000_000).default(0.01),
  /** Which evaluation metric decides, and whether higher or lower is better. */
  metric: z.string().min(1).max(64).default('accuracy'),
  metricGoal: z.enum(['max', 'min']).default('max'),
  /** Accept feedback whose label is not one of the stable version's labels. */
  allowNewClasses: z.boolean().default(false),
  /**
   * A stable version trained with `--select auto` records the configuration it chose; retraining
   * trains that configuration again unless this asks for a new cross-validated search.
   */
  searchAgain: z.boolean().default(false),
  /**
   * Optional: once a canary has `afterObservations` labelled feedback samples served by it, promote
   * it when its observed accuracy is at least the stable's minus `tolerance`, else remove it.
   */
  autoPromote: z
    .object({
      afterObservations: z.number().int().min(1).max(10_000_000),
      tolerance: z.number().min(0).max(1).default(0),
    })
    .nullable()
    .default(null),
  /**
   * Feedback quotas, enforced by the edge before anything is stored: accepted samples and stored
   * image bytes per model (429 once reached), and the largest feedback request (413). null = no
   * quota of its own (the request size is then bounded by the edge's MAX_BODY_BYTES only).
   */
  maxFeedbackSamples: z.number().int().min(1).max(100_000_000).nullable().default(10_000),
  maxFeedbackBytes: z
    .number()
    .int()
    .min(1)
    .max(2 ** 50)
    .nullable()
    .default(1024 ** 3),
  maxFeedbackRequestBytes: z
    .number()
    .int()
    .min(1024)
    .max(2 ** 40)
    .nullable()
    .default(null),
  /**
   * Poisoned-feedback check on each job's new untrusted feedback: the most accurate of stable and
   * live canary must agree with the labels by at least this chance-corrected score,
   * (agreement − 1/classes) ÷ (its holdout accuracy − 1/classes). Honest labels score about 1,
   * shuffled ones about 0 (shared/jobs/agreement.ts). 0 turns the check off.
   */
  minFeedbackAgreement: z.number().min(0).max(1).default(0.5),
  /** Batches smaller than this are not judged by agreement (too few to tell noise from poison). */
  minAgreementSamples: z.number().int().min(1).max(10_000_000).default(20),
  updatedAt: Timestamp.optional(),
});
export type RetrainPolicy = z.infer<typeof RetrainPolicySchema>;
export type RetrainPolicyInput = z.input<typeof RetrainPolicySchema>;

export const JOB_OPEN_STATES = ['pending', 'running'] as const;

export const JobLogLineSchema = z.object({ at: Timestamp, message: z.string().max(2000) });
export type JobLogLine = z.infer<typeof JobLogLineSchema>;

/** Who holds a running job and until when. `token` is unique per claim (fencing). */
export const JobClaimSchema = z.object({
  worker: z.string().min(1).max(200),
  token: z.string().min(8).max(64),
  claimedAt: Timestamp,
  heartbeatAt: Timestamp,
  leaseUntil: Timestamp,
  /**
   * Heartbeats written under this claim. Every write of a running job must differ in content:
   * stores whose ETag is a content hash (file store, R2/S3 MD5) would otherwise give a stale
   * copy's ETag back and let a compare-and-swap through.
   */
  beats: z.number().int().nonnegative().default(0),
});
export type JobClaim = z.infer<typeof JobClaimSchema>;

/** What the retrain step hands back; validated because it is the injected code's output. */
export const RetrainOutcomeSchema = z.object({
  candidateVersion: Name,
  /** Metrics of the candidate and of the current stable, measured on the same holdout. */
  candidateMetrics: MetricsSchema,
  stableMetrics: MetricsSchema,
  /** The stable version evaluated (defaults to the routing's stable at decision time). */
  stableVersion: Name.nullable().optional(),
  /**
   * Metrics of every live canary (routing candidate) at the time of the job, on the same holdout,
   * by version: the candidate must beat each of them too.
   */
  canaryMetrics: z.record(Name, MetricsSchema).default({}),
  /** Anything JSON the pipeline wants kept with the job (dataset sizes, timings, ...). */
  report: z.record(z.string(), z.unknown()).default({}),
});
export type RetrainOutcome = z.infer<typeof RetrainOutcomeSchema>;
export type RetrainOutcomeInput = z.input<typeof RetrainOutcomeSchema>;

/** One comparison the gate made: the candidate against the stable or a live canary. */
export const GateComparisonSchema = z.object({
  against: z.enum(['stable', 'canary']),
  version: Name.nullable(),
  candidate: z.number().nullable(),
  other: z.number().nullable(),
  improvement: z.number().nullable(),
  passed: z.boolean(),
  reason: z.string(),
});
export type GateComparison = z.infer<typeof GateComparisonSchema>;

/** The evaluation gate's verdict, stored with the finished job. */
export const GateDecisionSchema = z.object({
  routed: z.boolean(),
  metric: z.string(),
  candidate: z.number().nullable(),
  stable: z.number().nullable(),
  improvement: z.number().nullable(),
  minImprovement: z.number(),
  canaryWeight: z.number(),
  reason: z.string(),
  /** Every comparison made, stable first, then each live canary. */
  comparisons: z.array(GateComparisonSchema).default([]),
  /** Canaries the routed candidate took the place of (retired from routing, kept as versions). */
  replaced: z.array(Name).default([]),
});
export type GateDecision = z.infer<typeof GateDecisionSchema>;

export const JobSchema = z.object({
  schema: z.literal(1),
  id: Name,
  model: Name,
  state: z.enum(['pending', 'running', 'done', 'failed']),
  createdAt: Timestamp,
  /** Why the scheduler (or a person) created it. */
  reason: z.string().max(500),
  trigger: z
    .object({
      newSamples: z.number().int().nonnegative(),
      newestVersion: Name.nullable(),
      newestVersionAt: Timestamp.nullable(),
      /** Feedback received after this instant counts as new for this job. */
      since: Timestamp.nullable(),
    })
    .optional(),
  /** Claims so far (1 = first run; more when a worker died and the job was re-claimed). */
  attempts: z.number().int().nonnegative().default(0),
  claim: JobClaimSchema.nullable().default(null),
  log: z.array(JobLogLineSchema).default([]),
  outcome: RetrainOutcomeSchema.nullable().default(null),
  decision: GateDecisionSchema.nullable().default(null),
  /** The poisoned-feedback check on the job's new feedback (null: the step did not run it). */
  screening: AgreementVerdictSchema.nullable().default(null),
  error: z.string().nullable().default(null),
  finishedAt: Timestamp.nullable().default(null),
});
export type Job = z.infer<typeof JobSchema>;
