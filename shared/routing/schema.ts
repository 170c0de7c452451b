import { z } from 'zod';
import { NAME_PATTERN } from '../names.ts';

const Version = z.string().regex(NAME_PATTERN);

/** How many earlier stable versions a routing document remembers for rollback. */
export const MAX_PREVIOUS_STABLES = 50;

/**
 * Which versions of a model answer requests. `stable` takes whatever weight the candidates leave
 * (100 - sum of candidate weights). Shadow runs beside the chosen version and never answers.
 */
export const RoutingDocSchema = z
  .object({
    stable: Version.nullable(),
    candidates: z.array(z.object({ version: Version, weight: z.number().min(0).max(100) })).default([]),
    shadow: z
      .object({ version: Version, sample: z.number().min(0).max(1) })
      .nullable()
      .default(null),
    updatedAt: z.string().datetime().optional(),
    /** Why this change was made (cli, admin api, worker) — kept in the history. */
    reason: z.string().max(500).optional(),
    /**
     * The stable versions before this one, most recent last (at most MAX_PREVIOUS_STABLES): what
     * `rollback` returns to, like undo. The registry maintains it on every change, so a rollback
     * reads one document instead of the whole history; documents written before it existed get
     * it replayed from the history once.
     */
    previousStables: z.array(Version).max(MAX_PREVIOUS_STABLES).optional(),
  })
  .superRefine((doc, ctx) => {
    const total = doc.candidates.reduce((s, c) => s + c.weight, 0);
    if (total > 100 + 1e-9)
      ctx.addIssue({ code: 'custom', message: `candidate weights sum to ${total} > 100` });
    const seen = new Set<string>();
    for (const c of doc.candidates) {
      if (seen.has(c.version) || c.version === doc.stable) {
        ctx.addIssue({ code: 'custom', message: `version ${c.version} appears twice in routing` });
      }
      seen.add(c.version);
    }
  });
export type RoutingDoc = z.infer<typeof RoutingDocSchema>;
