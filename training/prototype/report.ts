/**
 * report.html of a prototype head: the same self-contained page as a trained head's (confusion
 * matrix and per-class table from training/report/html.ts), with leave-one-out accuracy, the
 * chosen temperature and, with `--baseline linear`, which head wins on the held-out set.
 */
import { confusionTable, perClassTable } from '../report/html.ts';
import { esc } from '../report/svg.ts';
import type { PrototypeTrainResult } from './run.ts';

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

export function renderPrototypeReport(r: PrototypeTrainResult, backbone: string): string {
  const verdict = r.baseline
    ? `<p class="verdict ${r.winner === 'linear' ? 'neg' : 'pos'}">${
        r.winner === 'tie'
          ? `Tie: prototype and trained linear head both ${pct(r.heldOut.accuracy)} held-out.`
          : `${r.winner === 'prototype' ? 'The prototype head wins' : 'The trained linear head wins'}: prototype ${pct(r.heldOut.accuracy)} vs linear ${pct(r.baseline.accuracy)} held-out.`
      }</p>`
    : '<p>No baseline was trained (add <code>--baseline linear</code> to compare with the trained dense head).</p>';
  const baselineRow = r.baseline
    ? `<tr><td>trained linear head</td><td>${pct(r.baseline.accuracy)}</td><td>${r.baseline.macroF1.toFixed(3)}</td><td>–</td><td>${r.baseline.seconds.toFixed(1)} s</td></tr>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>edgetune report: ${esc(r.name)} (prototype head)</title>
<style>
body{font-family:system-ui,sans-serif;margin:24px;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f4f4f4}.cm td{min-width:28px;text-align:center}
.verdict{font-size:1.15em;padding:10px;border-radius:6px}.neg{background:#fde2e1}.pos{background:#e2f5e2}code{background:#f4f4f4;padding:0 3px}
</style></head><body>
<h1>${esc(r.name)} — prototype head</h1>
<p>Backbone <code>${esc(backbone)}</code>, frozen; each class is the mean of its examples' unit embeddings and an image scores softmax(cosine / ${r.head.temperature.toFixed(4)}), the temperature chosen by leave-one-out. ${r.counts.train} examples, ${r.counts.heldOut} held-out images (${r.heldOutSet} set), ${r.counts.classes} classes.</p>
${verdict}
<table><tr><th>head</th><th>held-out accuracy</th><th>macro F1</th><th>leave-one-out accuracy</th><th>time</th></tr>
<tr><td>prototype (exported)</td><td>${pct(r.heldOut.accuracy)}</td><td>${r.heldOut.macroF1.toFixed(3)}</td><td>${pct(r.head.leaveOneOutAccuracy)}</td><td>${r.seconds.toFixed(1)} s</td></tr>
${baselineRow}</table>
<p>Parity gate: exported ONNX vs the head's reference, max |Δp| = ${r.parity.maxAbsDiff.toExponential(2)} on ${r.parity.samples} images; engines: ${r.parity.engines.map(esc).join(', ')}.</p>
<h2>Confusion matrix (prototype, held-out)</h2>
${confusionTable(r.heldOut, r.labels)}
<h2>Per class (prototype, held-out)</h2>
${perClassTable(r.heldOut)}
</body></html>
`;
}
