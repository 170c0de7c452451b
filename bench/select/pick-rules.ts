/**
 * Pick rules replayed on recorded searches (bench/select/results*.json): every rule looks only at
 * the CV scores of the labelled images, and the recorded hindsight test accuracy of each
 * configuration says how far its pick fell from the best one in the same search. The shipped rule
 * is choose.ts's `winner`; the others are what it is compared with, so that a change of rule is
 * judged on runs it was not designed on.
 */
import { type Scored, choosePaired, mean, pairedDifference, sd } from '../../training/select/choose.ts';
import { chooseByComparedLoss } from '../../training/select/scaled-loss.ts';
import { FIRST_SPLITS, MIN_SPLITS } from '../../training/select/search.ts';

/** One recorded configuration of a search. */
export interface RecordedRow {
  id: string;
  complexity: number;
  /** Absent in runs recorded before the field existed: familyOf() fills it in from the id. */
  family?: string | null;
  folds: number[];
  /** Mean held-out cross-entropy and Brier score per split; absent in runs recorded before the fields. */
  heldLoss?: number[];
  heldBrier?: number[];
  /** Held-out images' log-probabilities per split (image-major); absent in runs recorded before the field. */
  heldLogProbs?: number[][];
  testAccuracy: number | null;
  /**
   * The hindsight fit's test cross-entropy, raw and on the scale the pick compares it on
   * (training/select/search.ts); absent in runs recorded before the fields, null where the
   * hindsight figure was replayed.
   */
  testLoss?: number | null;
  testScaledLoss?: number | null;
  /** Absent in runs recorded before the field existed: cutOf() reads it off the split counts. */
  cut?: boolean;
}

export interface RecordedRun {
  task: string;
  seed: number;
  /** Folds of the search's plan; absent in runs recorded before the field existed (see foldCountOf). */
  k?: number;
  /** Labels of each split's held-out images; absent in runs recorded before the field. */
  heldLabels?: number[][];
  rows?: RecordedRow[];
}

/** A configuration as the rules see it: its split accuracies and, where recorded, held-out scores. */
export type RuleInput = Scored & { heldLoss?: number[]; heldBrier?: number[]; heldLogProbs?: number[][] };
export type Replayed = RuleInput & { testAccuracy: number | null };

/**
 * A recorded configuration's nested family: recorded since the rule uses it; for older runs it is
 * read off the id training/select/space.ts builds ("<layer> · <head>", "fine-tune <n> · linear").
 */
export function familyOf(c: RecordedRow): string | undefined {
  if (c.family !== undefined) return c.family ?? undefined;
  if (c.id.startsWith('fine-tune ')) return 'fine-tune';
  const sep = c.id.indexOf(' · ');
  return sep > 0 ? c.id.slice(0, sep) : undefined;
}

/**
 * Whether the search cut a recorded configuration short (racing or the budget): recorded since the
 * rule uses it; for older runs, fewer splits than its kind was planned — the plan's first
 * FIRST_SPLITS for re-trained layers and the scratch CNN, every split the heads got for a head.
 * Those runs' budgets cut nothing, so there it means racing stopped it.
 */
export function cutOf(c: RecordedRow, rows: readonly RecordedRow[]): boolean {
  if (c.cut !== undefined) return c.cut;
  const planned = Math.max(...rows.map((x) => x.folds.length));
  const expensive = c.id === 'scratch CNN' || familyOf(c) === 'fine-tune';
  return c.folds.length < (expensive ? Math.min(FIRST_SPLITS, planned) : planned);
}

/** The configurations of a run that were scored on at least one split, as choose.ts takes them. */
export function replayed(r: RecordedRun): Replayed[] | undefined {
  const rows = r.rows;
  return rows
    ?.filter((c) => c.folds.length > 0)
    .map((c) => ({ ...c, family: familyOf(c), cut: cutOf(c, rows) }));
}

/**
 * k of a run: recorded since the field exists; for older runs, the held-out fold's size is the
 * smallest image count that makes every recorded split score a whole number of images, and k is
 * the labelled images over it (the folds of these tasks are equal in size).
 */
export function foldCountOf(r: RecordedRun, labelled: number): number {
  if (r.k !== undefined) return r.k;
  const scores = (r.rows ?? []).flatMap((c) => c.folds);
  for (let held = 1; held <= labelled; held++) {
    if (scores.every((x) => Math.abs(x * held - Math.round(x * held)) < 1e-6))
      return Math.round(labelled / held);
  }
  return 1;
}

export interface PickRule {
  title: string;
  /**
   * `k`: the folds of the run's plan (only the Nadeau–Bengio step reads it). Undefined where the
   * run lacks what the rule reads (held-out losses in runs recorded before they were).
   */
  pick: (scored: readonly RuleInput[], k: number, heldLabels?: number[][]) => string | undefined;
}

const choice = (s: readonly Scored[]) => choosePaired(s, MIN_SPLITS)!;

/** The simplest configuration of `top`'s family that `near` accepts (`top` itself if none). */
function stepInFamily(scored: readonly Scored[], top: Scored, near: (s: Scored) => boolean): string {
  const family = scored.filter(
    (s) => s.folds.length >= MIN_SPLITS && (s === top || (s.family !== undefined && s.family === top.family)),
  );
  return family.filter((s) => s === top || near(s)).reduce((a, b) => (b.complexity < a.complexity ? b : a))
    .id;
}

/** The most probably best configuration, then a step inside its family by `near(candidate, top)`. */
function stepFromMostProbable(near: (s: Scored, top: Scored, c: ReturnType<typeof choice>) => boolean) {
  return (scored: readonly Scored[]) => {
    const c = choice(scored);
    const top = scored.find((s) => s.id === c.mostProbable)!;
    return stepInFamily(scored, top, (s) => near(s, top, c));
  };
}

/**
 * Empirical-Bayes shrinkage of every configuration's paired difference to the reference toward
 * their common mean (normal–normal model, moment estimates): a difference measured on 2 splits is
 * pulled in more than one measured on 10. The per-split variance is pooled over configurations,
 * since a spread from 2 splits says almost nothing on its own.
 */
export function shrunkEstimates(scored: readonly Scored[]): Map<string, number> {
  const c = choice(scored);
  const ref = scored.find((s) => s.id === c.reference)!;
  const full = scored.filter((s) => s.folds.length >= MIN_SPLITS);
  const diffs = full.map((s) => {
    const n = Math.min(s.folds.length, ref.folds.length);
    const d = Array.from({ length: n }, (_, i) => s.folds[i]! - ref.folds[i]!);
    return { s, n, d, m: mean(d) };
  });
  let ss = 0;
  let df = 0;
  for (const x of diffs) {
    if (x.s === ref) continue;
    ss += x.d.reduce((a, v) => a + (v - x.m) ** 2, 0);
    df += x.n - 1;
  }
  const perSplit = df > 0 ? ss / df : 0;
  const v = (x: (typeof diffs)[number]) => (x.s === ref ? 0 : perSplit / x.n);
  const mu = mean(diffs.map((x) => x.m));
  const tau2 = Math.max(0, mean(diffs.map((x) => (x.m - mu) ** 2)) - mean(diffs.map(v)));
  const refMean = mean(ref.folds);
  return new Map(
    diffs.map((x) => {
      const b = tau2 + v(x) === 0 ? 1 : tau2 / (tau2 + v(x));
      return [x.s.id, refMean + mu + b * (x.m - mu)];
    }),
  );
}

/**
 * The configurations with each split's accuracy replaced by a continuous held-out score (higher is
 * better): the negated mean cross-entropy or Brier score. Undefined where a run did not record it.
 */
function byHeld(scored: readonly RuleInput[], field: 'heldLoss' | 'heldBrier'): Scored[] | undefined {
  if (scored.some((c) => c[field]?.length !== c.folds.length)) return undefined;
  return scored.map((c) => ({ ...c, folds: c[field]!.map((x) => -x) }));
}

/**
 * The family of the configuration most probably best by a held-out score, then the shipped rule
 * (most probably best by accuracy, the one-SE step) among that family's configurations.
 */
function familyThenShipped(
  scored: readonly RuleInput[],
  field: 'heldLoss' | 'heldBrier',
): string | undefined {
  const h = byHeld(scored, field);
  if (!h) return undefined;
  const top = scored.find((c) => c.id === choice(h).mostProbable)!;
  const members = scored.filter((c) => c === top || (c.family !== undefined && c.family === top.family));
  return choosePaired(members, MIN_SPLITS)?.winner ?? top.id;
}

/**
 * The shipped pick (search.ts: scaled-loss.ts's chooseByComparedLoss) on a run's recorded splits:
 * temperature-scaled held-out cross-entropies where the run recorded its log-probabilities and
 * held-out labels, else the raw ones (the rule shipped before the scaling, which those runs were
 * recorded under). Undefined where the run has no held-out losses.
 */
export function shippedPickOf(
  scored: readonly RuleInput[],
  labels?: number[][],
  smoothed = true,
): string | undefined {
  if (scored.some((c) => c.heldLoss?.length !== c.folds.length)) return undefined;
  return chooseByComparedLoss(
    scored.map((c) => ({ ...c, heldLoss: c.heldLoss! })),
    labels,
    MIN_SPLITS,
    smoothed,
  )?.winner;
}

export const RULES: PickRule[] = [
  {
    title: 'one-SE step across all configurations',
    pick: (s) => choice(s.map((c) => ({ ...c, family: 'all' }))).winner,
  },
  { title: 'best paired estimate', pick: (s) => choice(s).best },
  {
    title: 'best empirical-Bayes shrunk estimate',
    pick: (s) => {
      const e = shrunkEstimates(s);
      const full = s.filter((c) => e.has(c.id));
      return full.reduce((a, b) => {
        const d = e.get(b.id)! - e.get(a.id)!;
        return d > 1e-12 || (Math.abs(d) <= 1e-12 && b.complexity < a.complexity) ? b : a;
      }).id;
    },
  },
  { title: 'most probably best', pick: (s) => choice(s).mostProbable },
  {
    // The step only to a configuration that itself leads in at least a tenth of the draws.
    title: 'most probably best, one-SE step in its family only to P(best) ≥ 0.1',
    pick: stepFromMostProbable((s, top, c) => {
      const d = pairedDifference(s.folds, top.folds);
      const p = c.estimates.find((e) => e.id === s.id)!.probabilityBest;
      return d.mean >= -d.se - 1e-12 && p >= 0.1;
    }),
  },
  {
    // Hastie et al.'s one-SE rule as printed: the SE of the leader's CV estimate, not of the difference.
    title: "most probably best, step within one SE of its estimate (not the difference's) in its family",
    pick: stepFromMostProbable((s, top, c) => {
      const est = (id: string) => c.estimates.find((e) => e.id === id)!.estimate;
      return est(s.id) >= est(top.id) - sd(top.folds) / Math.sqrt(top.folds.length) - 1e-12;
    }),
  },
  {
    // Nadeau & Bengio (2003): CV's training sets overlap, so the per-split differences are
    // correlated and var/n understates the variance; their correction is var · (1/n + n_held/n_train).
    title: 'most probably best, step within one Nadeau–Bengio-corrected SE in its family',
    pick: (s, k) => {
      const c = choice(s);
      const top = s.find((x) => x.id === c.mostProbable)!;
      return stepInFamily(s, top, (x) => {
        const d = pairedDifference(x.folds, top.folds);
        return d.mean >= -d.se * Math.sqrt(1 + d.n / (k - 1)) - 1e-12;
      });
    },
  },
  {
    title: 'held-out cross-entropy: most probably best, one-SE step in its family',
    pick: (s) => {
      const h = byHeld(s, 'heldLoss');
      return h && choice(h).winner;
    },
  },
  {
    title: 'held-out Brier score: most probably best',
    pick: (s) => {
      const h = byHeld(s, 'heldBrier');
      return h && choice(h).mostProbable;
    },
  },
  {
    title: 'held-out Brier score: most probably best, one-SE step in its family',
    pick: (s) => {
      const h = byHeld(s, 'heldBrier');
      return h && choice(h).winner;
    },
  },
  {
    title: 'family by held-out cross-entropy (most probably best), then the shipped rule inside it',
    pick: (s) => familyThenShipped(s, 'heldLoss'),
  },
  {
    title: 'family by held-out Brier score (most probably best), then the shipped rule inside it',
    pick: (s) => familyThenShipped(s, 'heldBrier'),
  },
  {
    title: 'accuracy: most probably best, one-SE step in its family (shipped before)',
    pick: (s) => choice(s).winner,
  },
  {
    title: 'held-out cross-entropy, most probably best (shipped before)',
    pick: (s) => shippedPickOf(s),
  },
  {
    title:
      'temperature-scaled held-out cross-entropy, the factor fitted to the plain labels (shipped before)',
    pick: (s, _k, labels) => shippedPickOf(s, labels, false),
  },
  {
    title: 'shipped: temperature-scaled held-out cross-entropy, most probably best (before the scaling: raw)',
    pick: (s, _k, labels) => shippedPickOf(s, labels),
  },
];

/** Points between the best recorded test accuracy of the run and that of the rule's pick. */
export function gapOf(scored: readonly Replayed[], id: string): number {
  const best = Math.max(...scored.map((x) => x.testAccuracy ?? 0));
  return best - scored.find((x) => x.id === id)!.testAccuracy!;
}
