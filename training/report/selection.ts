/** The report's "Configuration search" section: why `--select auto` exported what it did. */
import type { TrainResult } from '../train/options.ts';

type Selected = NonNullable<TrainResult['selection']>;

import { esc } from './svg.ts';
const pct = (x: number | null) => (x === null ? '—' : `${(x * 100).toFixed(1)}%`);

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
          ? `<td colspan="2">${esc(r.skipped ?? '')}</td>`
          : `<td>${pct(r.mean)} ± ${pct(r.sd)}</td><td>${r.folds.map((f) => pct(f)).join(' ')}</td>`;
      return `<tr${cls}><td style="text-align:left">${esc(r.id)}${r.id === s.winner.id ? ' (exported)' : ''}${r.id === search.best && r.id !== s.winner.id ? ' (best estimate)' : ''}</td>${cv}${hasTest ? `<td>${pct(r.testAccuracy)}</td>` : ''}<td>${r.seconds.toFixed(1)} s</td></tr>`;
    })
    .join('\n');
  return `<h2>Configuration search (--select auto)</h2>
<p>Stratified ${search.k}-fold cross-validation on the labelled images (up to ${search.repeats} shuffles; every configuration scored on the same splits); the winner is the configuration most probably best under a bootstrap of the splits (its paired estimate: its mean paired difference to the reference added to the reference's mean), or the simplest configuration of its nested family (the heads on the same layer, the fine-tuning depths) within one paired standard error of it. Search time ${search.seconds.toFixed(1)} s of a ${search.budgetSeconds} s budget.${hasTest ? ' Test accuracy: each configuration trained on the training split and scored on the test set, in hindsight — it played no part in the choice.' : ''}</p>
<table><tr><th>configuration</th><th>CV mean ± sd</th><th>per split</th>${hasTest ? '<th>test accuracy</th>' : ''}<th>time</th></tr>
${rows}</table>
`;
}
