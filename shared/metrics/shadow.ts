/**
 * Shadow agreement documents (`models/{name}/shadow/{version}.json`): written by the edge's shadow
 * recorder, read by `GET /admin/models/{name}/stats` and `edgetune models stats`.
 */
import { z } from 'zod';
import { NAME_PATTERN } from '../names.ts';

export const ShadowCountsSchema = z.object({
  /** Items compared (a batch request counts each image). */
  compared: z.number().int().nonnegative(),
  /** Items whose top-1 label was the same. */
  top1Agree: z.number().int().nonnegative(),
  /** Largest |p_shadow - p_served| seen over all classes and items. */
  maxAbsDiff: z.number().nonnegative(),
  /** Sum over items of that item's max |Δp| (mean = sum / compared). */
  sumMaxAbsDiff: z.number().nonnegative(),
  /** Shadow runs that failed (load or run error); they never affect the answer. */
  errors: z.number().int().nonnegative(),
});
export type ShadowCounts = z.infer<typeof ShadowCountsSchema>;

export const ShadowStatsSchema = z.object({
  schema: z.literal(1),
  model: z.string().regex(NAME_PATTERN),
  shadow: z.string().regex(NAME_PATTERN),
  /** Keyed by the version that answered. */
  against: z.record(z.string().regex(NAME_PATTERN), ShadowCountsSchema),
  updatedAt: z.string().datetime(),
});
export type ShadowStats = z.infer<typeof ShadowStatsSchema>;

export const zeroShadowCounts = (): ShadowCounts => ({
  compared: 0,
  top1Agree: 0,
  maxAbsDiff: 0,
  sumMaxAbsDiff: 0,
  errors: 0,
});

export function addShadowCounts(a: ShadowCounts, b: ShadowCounts): ShadowCounts {
  return {
    compared: a.compared + b.compared,
    top1Agree: a.top1Agree + b.top1Agree,
    maxAbsDiff: Math.max(a.maxAbsDiff, b.maxAbsDiff),
    sumMaxAbsDiff: a.sumMaxAbsDiff + b.sumMaxAbsDiff,
    errors: a.errors + b.errors,
  };
}

/** Adds every served version's counts of `b` into a copy of `a`. */
export function addAgainst(
  a: Record<string, ShadowCounts>,
  b: Record<string, ShadowCounts>,
): Record<string, ShadowCounts> {
  const out = { ...a };
  for (const [served, counts] of Object.entries(b))
    out[served] = addShadowCounts(out[served] ?? zeroShadowCounts(), counts);
  return out;
}
