/** How a `--select auto` result is shown: the `--json` object and the CLI's text table. */
import type { TrainResult } from '../train/options.ts';

type Selected = NonNullable<TrainResult['selection']>;

const pct = (x: number | null) => (x === null ? '—' : `${(x * 100).toFixed(1)}%`);

/**
 * Below this many labelled images the search's pick was measured to fall 1–2 points short of the
 * best configuration on average (photo crops with 30 and 60 labelled images: 2.0 and 1.1 points;
 * with 100 and 120: 0.6 and 0.4; bench/select/tasks.ts, docs/select-auto.md), so the CLI says so.
 */
export const FEW_HELD_OUT = 100;

/** Labelled images held out once each by the plan's first shuffle: all of them. */
function heldOutImages(search: NonNullable<Selected['search']>): number {
  return search.heldLabels.slice(0, search.k).reduce((a, h) => a + h.length, 0);
}

/** The caution for a search on few labelled images, or null. */
export function fewLabelsNote(search: NonNullable<Selected['search']>): string | null {
  const n = heldOutImages(search);
  if (n >= FEW_HELD_OUT) return null;
  return `the choice rests on ${n} labelled images (one is ${(100 / n).toFixed(1)} points of CV accuracy): configurations closer than a few images are not told apart reliably; more labelled images per class make the pick more reliable`;
}

export function selectionJson(s: Selected): Record<string, unknown> {
  const search = s.search;
  return {
    winner: s.winner.id,
    reused: search === null,
    ...(search
      ? {
          rule: search.rule,
          folds: search.k,
          best: search.best,
          repeats: search.repeats,
          reference: search.reference,
          budgetSeconds: search.budgetSeconds,
          seconds: search.seconds,
          skipped: search.skipped,
          exportCheck: search.exportCheck,
          exportCheckSeconds: search.exportCheckSeconds,
          heldOutImages: heldOutImages(search),
          note: fewLabelsNote(search),
          configurations: search.rows.map((r) => ({
            id: r.id,
            kind: r.kind,
            featureLayer: r.featureLayer ?? null,
            trainable: r.trainable,
            head: r.kind === 'scratch' ? null : r.head,
            cvMean: r.mean,
            cvSd: r.sd,
            estimate: r.estimate,
            lossEstimate: r.lossEstimate ?? null,
            probabilityBest: r.probabilityBest ?? null,
            family: r.family ?? null,
            folds: r.folds,
            heldLoss: r.heldLoss,
            seconds: r.seconds,
            testAccuracy: r.testAccuracy,
            testLoss: r.testLoss ?? null,
            testScaledLoss: r.testScaledLoss ?? null,
            skipped: r.skipped,
            cut: r.cut ?? false,
          })),
        }
      : {}),
  };
}

export function selectionLines(s: Selected): string[] {
  const search = s.search;
  if (!search) return [`configuration: ${s.winner.id} (the recipe's earlier --select auto choice)`];
  const width = Math.max(...search.rows.map((r) => r.id.length));
  const hasTest = search.rows.some((r) => r.testAccuracy !== null);
  const note = fewLabelsNote(search);
  return [
    `--select auto: ${search.k}-fold CV × up to ${search.repeats} shuffles, most probably best by ${search.scaledLoss ? 'temperature-scaled ' : ''}held-out cross-entropy → ${s.winner.id}; ${search.seconds.toFixed(1)}s of ${search.budgetSeconds}s`,
    ...exportCheckLines(search.exportCheck, s.winner.id),
    ...(note ? [`note: ${note}`] : []),
    ...search.rows.map((r) => {
      const mark = r.id === s.winner.id ? '*' : ' ';
      const cv =
        r.mean === null
          ? `skipped: ${r.skipped}`
          : `${pct(r.mean)} ± ${pct(r.sd)} on ${r.folds.length} splits, estimate ${pct(r.estimate)}, loss ${r.lossEstimate?.toFixed(3) ?? '—'}, P(best) ${pct(r.probabilityBest ?? null)}`;
      const test = hasTest ? `  test ${pct(r.testAccuracy)}` : '';
      return ` ${mark} ${r.id.padEnd(width)}  ${cv}${r.mean === null ? '' : test}  ${r.seconds.toFixed(1)}s`;
    }),
  ];
}

function exportCheckLines(c: NonNullable<Selected['search']>['exportCheck'], id: string): string[] {
  if (!c) return [];
  const fit = `export fit of ${id}: ${c.val.correct}/${c.val.images} validation images right, ${c.cv.correct}/${c.cv.images} in CV (p = ${c.pValue.toFixed(3)})`;
  if (!c.refit) return [fit];
  return [
    `${fit}: refitted with seed ${c.refit.seed}, ${c.refit.val.correct}/${c.refit.val.images} right; exporting seed ${c.fitSeed}'s fit`,
  ];
}
