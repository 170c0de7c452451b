/** How a `--select auto` result is shown: the `--json` object and the CLI's text table. */
import type { TrainResult } from '../train/options.ts';

type Selected = NonNullable<TrainResult['selection']>;

const pct = (x: number | null) => (x === null ? '—' : `${(x * 100).toFixed(1)}%`);

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
  return [
    `--select auto: ${search.k}-fold CV × up to ${search.repeats} shuffles, most probably best by held-out cross-entropy → ${s.winner.id}; ${search.seconds.toFixed(1)}s of ${search.budgetSeconds}s`,
    ...exportCheckLines(search.exportCheck, s.winner.id),
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
