/**
 * The training recipe: how a version was trained, stored as `training.json` beside its
 * manifest (in the export directory, hence in the version folder once published). The
 * retraining worker reads the stable version's recipe to train a candidate the same way on the
 * base data plus accepted feedback. Paths are made absolute when recorded, so the recipe does not
 * depend on the working directory of whoever retrains. A backbone file travels with the store
 * (training/backbones/store-copy.ts, found again by its sha256); file datasets must still be at
 * their paths.
 */
import path from 'node:path';
import { z } from 'zod';
import { parseJsonObject } from '../../shared/store/json.ts';
import { keys } from '../../shared/store/keys.ts';
import type { ObjectStore } from '../../shared/store/types.ts';
import { formatHubRef, parseHubRef } from '../backbones/hub/hub-ref.ts';
import { parseBackboneSource } from '../backbones/import.ts';
import { InputOptionsSchema } from '../backbones/input-options.ts';
import { HeadSpecSchema } from '../fit/head.ts';
import { ChosenConfigurationSchema } from '../select/auto.ts';

export const RECIPE_FILE = 'training.json';

export const TrainingRecipeSchema = z.object({
  schema: z.literal(1),
  /** Canonical backbone source (absolute path for files) and the sha256 it had. */
  backbone: z.string().min(1),
  backboneSha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .nullable(),
  /** The BASE training data spec (feedback added by retraining is not folded into it). */
  data: z.string().min(1),
  /** The base held-out test spec, if the model had one. */
  testData: z.string().min(1).nullable(),
  /** Directory relative paths inside the specs resolve against. */
  cwd: z.string().min(1),
  options: z.object({
    /** How a plain ONNX backbone wants its input (the train command's preprocessing flags). */
    input: InputOptionsSchema.optional(),
    featureLayer: z.string().optional(),
    trainable: z.union([z.number().int().nonnegative(), z.string()]).optional(),
    head: HeadSpecSchema,
    epochs: z.number().int().nonnegative().optional(),
    fineTuneEpochs: z.number().int().nonnegative().optional(),
    lr: z.number().positive().optional(),
    valSplit: z.number().gt(0).lt(1).optional(),
    seed: z.number().int(),
    batchSize: z.number().int().positive().optional(),
    patience: z.number().int().nonnegative().optional(),
    baseline: z.literal('scratch').optional(),
    select: z.enum(['transfer', 'best', 'auto']).optional(),
    /** What `--select auto` chose; a retraining job trains it again without searching. */
    chosen: ChosenConfigurationSchema.optional(),
    /** `--quantize int8`: each retrained version gets its int8 variant through the same gate. */
    quantize: z.literal('int8').optional(),
    maxAccuracyDropPoints: z.number().min(0).optional(),
  }),
  /** Set by retraining: the feedback this version was trained and evaluated with. */
  feedback: z
    .object({
      records: z.number().int().nonnegative(),
      train: z.number().int().nonnegative(),
      holdout: z.number().int().nonnegative(),
      newest: z.string().datetime().nullable(),
    })
    .nullable()
    .default(null),
});
export type TrainingRecipe = z.infer<typeof TrainingRecipeSchema>;
export type TrainingRecipeOptions = TrainingRecipe['options'];

/** `nsfwjs:Model` stays as is; file sources become absolute (they resolve like resolveBackbone). */
export function canonicalBackbone(source: string): string {
  const parsed = parseBackboneSource(source);
  if (parsed.kind === 'nsfwjs') return `nsfwjs:${parsed.model}`;
  if (parsed.kind === 'tfjs') return `tfjs:${parsed.path}`;
  // A hub file is fetched again by whoever retrains and checked against backboneSha256.
  if (parsed.kind === 'hub') return formatHubRef(parseHubRef(parsed.source));
  return parsed.path;
}

export function buildRecipe(fields: {
  backbone: string;
  backboneSha256: string | null;
  data: string;
  testData: string | null;
  cwd: string;
  options: TrainingRecipeOptions;
  feedback?: TrainingRecipe['feedback'];
}): TrainingRecipe {
  return TrainingRecipeSchema.parse({
    schema: 1,
    ...fields,
    cwd: path.resolve(fields.cwd),
    feedback: fields.feedback ?? null,
  });
}

/** The recipe of a published version; null when it was published without one. */
export async function readRecipe(
  store: ObjectStore,
  model: string,
  version: string,
): Promise<TrainingRecipe | null> {
  const obj = await store.get(keys.versionFile(model, version, RECIPE_FILE));
  return obj ? parseJsonObject(obj, TrainingRecipeSchema, store.url) : null;
}
