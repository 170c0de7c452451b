import { z } from 'zod';
import { NAME_PATTERN } from '../names.ts';

const Name = z.string().regex(NAME_PATTERN);
const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);

/** Labels are free text (they come from manifests), bounded like the manifest's labels. */
export const FeedbackLabelSchema = z
  .string()
  .trim()
  .min(1, 'must be a non-empty label')
  .max(128, 'must be at most 128 characters');

/** What the edge served for the image, when the client tells us (used for canary observations). */
export const FeedbackPredictionSchema = z.union([
  FeedbackLabelSchema,
  z.object({ label: FeedbackLabelSchema, score: z.number().min(0).max(1).optional() }),
]);

/**
 * One accepted (image, label) pair, stored at `datasets/{model}/feedback/records/{id}.json`.
 * `id` is derived from the image's sha256 and the label, so the same pair is stored once.
 */
export const FeedbackRecordSchema = z.object({
  schema: z.literal(1),
  id: z.string().regex(/^[0-9a-f]{64}-[0-9a-f]{16}$/),
  model: Name,
  label: FeedbackLabelSchema,
  /** False when the label was not one of the stable version's labels (policy allowed it). */
  knownLabel: z.boolean(),
  image: z.object({
    sha256: Sha256,
    key: z.string(),
    format: z.enum(['png', 'jpeg', 'webp', 'gif']),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    size: z.number().int().positive(),
  }),
  /**
   * True when the label comes from a trusted source (the edge's REVIEWER_TOKEN or `edgetune
   * feedback import --trusted`). Only trusted feedback may join the evaluation holdout; untrusted
   * feedback trains but never judges.
   */
  trusted: z.boolean().default(false),
  version: Name.nullable(),
  prediction: z.string().nullable(),
  receivedAt: z.string().datetime(),
});
export type FeedbackRecord = z.infer<typeof FeedbackRecordSchema>;
