/**
 * Replaying a recorded search under a changed procedure: `EDGETUNE_SELECT_REPLAY=<file>` names a
 * search recorded on the same data with the same seed (bench/select/tasks.ts writes them), and the
 * search takes a split's scores (accuracy, held-out loss and Brier score) from it instead of
 * training that split, and a configuration's hindsight test accuracy instead of fitting it again.
 * Only what the recording lacks is trained.
 *
 * Exact because every split is a pure function of the labelled images, the plan (seeded) and the
 * configuration: a replay scores what a fresh search would, and decides (racing, the pick) on the
 * same numbers — only the time is not the recording's. For measuring a procedure on recorded
 * runs (bench/select); a user's search never sets it.
 */
import fs from 'node:fs';
import { z } from 'zod';
import { EdgetuneError } from '../../shared/errors.ts';

export const SELECT_REPLAY_ENV = 'EDGETUNE_SELECT_REPLAY';

const recordedRow = z.object({
  id: z.string(),
  folds: z.array(z.number().min(0).max(1)),
  /** Absent in searches recorded before the fields: their splits are trained again. */
  heldLoss: z.array(z.number().min(0)).optional(),
  heldBrier: z.array(z.number().min(0)).optional(),
  /**
   * Absent in searches recorded before the field (or with it left out): their picks compare raw
   * held-out cross-entropies (scaled-loss.ts, lossesToCompare).
   */
  heldLogProbs: z.array(z.array(z.number().max(0))).optional(),
  testAccuracy: z.number().min(0).max(1).nullable().optional(),
});
const recording = z.object({ rows: z.array(recordedRow) });

/** What a split records: the held-out images' accuracy, mean cross-entropy and Brier score. */
export interface SplitScore {
  accuracy: number;
  loss: number;
  brier: number;
  /**
   * The held-out images' log-probabilities, image-major (absent where a recording supplied the
   * split without them).
   */
  logProbs?: number[];
}

export interface KnownScores {
  /** The scores of `id` on split `i` of the plan, when the recording has all of them. */
  split(id: string, i: number): SplitScore | undefined;
  /** The recorded hindsight test accuracy of `id`. */
  test(id: string): number | undefined;
}

export function knownScores(rows: z.input<typeof recording>['rows']): KnownScores {
  const byId = new Map(rows.map((r) => [r.id, r]));
  return {
    split: (id, i) => {
      const row = byId.get(id);
      const accuracy = row?.folds[i];
      const loss = row?.heldLoss?.[i];
      const brier = row?.heldBrier?.[i];
      const logProbs = row?.heldLogProbs?.[i];
      if (accuracy === undefined || loss === undefined || brier === undefined) return undefined;
      return logProbs && logProbs.length > 0
        ? { accuracy, loss, brier, logProbs }
        : { accuracy, loss, brier };
    },
    test: (id) => byId.get(id)?.testAccuracy ?? undefined,
  };
}

/** The recording named by EDGETUNE_SELECT_REPLAY, if set. */
export function knownScoresFromEnv(env: NodeJS.ProcessEnv = process.env): KnownScores | undefined {
  const file = env[SELECT_REPLAY_ENV];
  if (!file) return undefined;
  let parsed: z.infer<typeof recording>;
  try {
    parsed = recording.parse(JSON.parse(fs.readFileSync(file, 'utf8')));
  } catch (e) {
    throw new EdgetuneError(
      'bad_request',
      `${SELECT_REPLAY_ENV}=${file}: not a recorded search (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`,
    );
  }
  return knownScores(parsed.rows);
}
