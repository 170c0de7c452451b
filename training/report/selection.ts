/** The report's "Configuration search" section: why `--select auto` exported what it did. */
import type { TrainResult } from '../train/options.ts';

type Selected = NonNullable<TrainResult['selection']>;

import { esc } from './svg.ts';
const pct = (x: number | null) => (x === null ? '—' : `${(x * 100).toFixed(1)}%`);
const loss = (x: number | undefined) => (x === undefined ? '—' : x.toFixed(3));

export function selectionSection(s: Selected | undefined): string {
  if (!s) return '';
  const search = s.search;
  if (!search) {
    return `<h2>Configuration</h2><p>Trained as <b>${esc(s.winner.id)}</b>: the earlier <code>--select auto</code> choice recorded in the recipe (no new search).</p>\n`;
  }
  const hasTest = search.rows.some((r) => r.testAccuracy !== null);
  const rows = search.rows
    .map((r) => {
      const cls = r.id === s.winner.id ? ' class="sel"' : '';
      const cv =
        r.mean === null
          ? `<td colspan="4">${esc(r.skipped ?? '')}</td>`
          : `<td>${pct(r.mean)} ± ${pct(r.sd)}</td><td>${r.folds.map((f) => pct(f)).join(' ')}</td><td>${loss(r.lossEstimate)}</td><td>${pct(r.probabilityBest ?? null)}</td>`;
      return `<tr${cls}><td style="text-align:left">${esc(r.id)}${r.id === s.winner.id ? ' (exported)' : ''}${r.id === search.best && r.id !== s.winner.id ? ' (best estimate)' : ''}</td>${cv}${hasTest ? `<td>${pct(r.testAccuracy)}</td>` : ''}<td>${r.seconds.toFixed(1)} s</td></tr>`;
    })
    .join('\n');
  return `<h2>Configuration search (--select auto)</h2>
<p>Stratified ${search.k}-fold cross-validation on the labelled images (up to ${search.repeats} shuffles; every configuration scored on the same splits); the winner is the configuration most probably best by its held-out images' cross-entropy under a bootstrap of the splits (the paired estimate: its mean paired difference to the reference added to the reference's mean; the cross-entropy scores how much probability each held-out image got, where accuracy only counts whether it came first)${!search.scaledLoss ? '' : ", after scaling each configuration's log-probabilities by the one temperature that fits its own held-out images best, so that a sharp head and a soft one are compared on how well they separate the classes, not on how confident they are"}. Search time ${search.seconds.toFixed(1)} s of a ${search.budgetSeconds} s budget.${hasTest ? ' Test accuracy: each configuration trained as its export would be (on every labelled image) and scored on the test set, in hindsight — it played no part in the choice.' : ''}</p>
<table><tr><th>configuration</th><th>CV accuracy mean ± sd</th><th>per split</th><th>${search.scaledLoss ? 'temperature-scaled ' : ''}held-out cross-entropy (paired estimate)</th><th>P(best)</th>${hasTest ? '<th>test accuracy</th>' : ''}<th>time</th></tr>
${rows}</table>
`;
}
