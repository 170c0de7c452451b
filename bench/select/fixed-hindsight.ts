/**
 * A floor under the gap: the one configuration with the best mean test accuracy over all of a
 * task's recorded runs, chosen with every run's test set, and its mean gap to each run's best.
 * Even that choice — which no pick from the labelled images can know — falls short of the
 * per-run best wherever the configurations' test figures move from run to run (the fit's seed,
 * the splits, 50–100 test images per class). A pick's gap near it is as good as a fixed choice
 * could do; far above it, the pick itself is what costs the points.
 */
import type { RecordedRun } from './pick-rules.ts';

export interface FixedHindsight {
  task: string;
  runs: number;
  /** The configuration with the best mean test accuracy over the runs (scored in all of them). */
  id: string;
  meanTest: number;
  /** Its mean gap to each run's best configuration. */
  gap: number;
}

export function fixedHindsight(task: string, runs: readonly RecordedRun[]): FixedHindsight | null {
  const tests = runs
    .filter((r) => r.task === task && r.rows)
    .map((r) => new Map(r.rows!.filter((c) => c.testAccuracy !== null).map((c) => [c.id, c.testAccuracy!])));
  if (tests.length === 0) return null;
  const ids = [...tests[0]!.keys()].filter((id) => tests.every((t) => t.has(id)));
  if (ids.length === 0) return null;
  const mean = (f: (t: Map<string, number>) => number) => tests.reduce((a, t) => a + f(t), 0) / tests.length;
  const meanOf = new Map(ids.map((id) => [id, mean((t) => t.get(id)!)]));
  const id = ids.reduce((a, b) => (meanOf.get(b)! > meanOf.get(a)! ? b : a));
  return {
    task,
    runs: tests.length,
    id,
    meanTest: meanOf.get(id)!,
    gap: mean((t) => Math.max(...t.values()) - t.get(id)!),
  };
}
