/**
 * report.html: one self-contained file (inline SVG charts, images as data-URI PNGs, no scripts)
 * with the verdict against the baseline, metrics, learning curves, the confusion matrix and a
 * grid of held-out predictions (mistakes first).
 */
import { selectionSection } from './selection.ts';
import { encode } from 'fast-png';
import type { RawImage } from '../../shared/preprocess/types.ts';
import { resizeBilinear } from '../../shared/preprocess/resize.ts';
import type { Evaluation } from '../evaluate/metrics.ts';
import type { ModelOutcome, TrainResult } from '../train/options.ts';
import { describeThroughput } from '../train/throughput.ts';
import { esc, historyCharts } from './svg.ts';

export interface SamplePrediction {
  image: RawImage;
  label: number;
  predicted: number;
}

const THUMB = 64;
const GRID = 48;

/** A PNG data URI of the image, scaled so its longer side is at most THUMB px. */
export function thumbnailDataUri(image: RawImage): string {
  const scale = Math.min(1, THUMB / Math.max(image.width, image.height));
  const w = Math.max(1, Math.round(image.width * scale));
  const h = Math.max(1, Math.round(image.height * scale));
  const resized = scale === 1 ? image.data : resizeBilinear(image, w, h);
  const data = Uint8Array.from(resized, (v) => Math.max(0, Math.min(255, Math.round(v))));
  const png = encode({ width: w, height: h, data, channels: image.channels, depth: 8 });
  return `data:image/png;base64,${Buffer.from(png).toString('base64')}`;
}

function pct(x: number | undefined): string {
  return x === undefined ? '–' : `${(x * 100).toFixed(1)}%`;
}

export function confusionTable(ev: Evaluation, labels: readonly string[]): string {
  const max = Math.max(1, ...ev.confusion.flat());
  const head = `<tr><th>true \\ predicted</th>${labels.map((l) => `<th>${esc(l)}</th>`).join('')}</tr>`;
  const rows = ev.confusion.map((row, t) => {
    const cells = row.map((v, p) => {
      const a = v / max;
      const bg =
        t === p
          ? `rgba(44,160,44,${(0.15 + 0.85 * a).toFixed(2)})`
          : v > 0
            ? `rgba(214,39,40,${(0.15 + 0.85 * a).toFixed(2)})`
            : '#fff';
      return `<td style="background:${bg}">${v}</td>`;
    });
    return `<tr><th>${esc(labels[t]!)}</th>${cells.join('')}</tr>`;
  });
  return `<table class="cm">${head}${rows.join('')}</table>`;
}

export function perClassTable(ev: Evaluation): string {
  const rows = ev.perClass.map(
    (c) =>
      `<tr><td>${esc(c.label)}</td><td>${c.precision.toFixed(3)}</td><td>${c.recall.toFixed(3)}</td><td>${c.f1.toFixed(3)}</td><td>${c.support}</td></tr>`,
  );
  return `<table><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>${rows.join('')}</table>`;
}

function sampleGrid(samples: readonly SamplePrediction[], labels: readonly string[]): string {
  const wrong = samples.filter((s) => s.label !== s.predicted);
  const right = samples.filter((s) => s.label === s.predicted);
  const shown = [...wrong.slice(0, GRID / 2), ...right].slice(0, GRID);
  const cells = shown.map((s) => {
    const ok = s.label === s.predicted;
    return (
      `<figure class="${ok ? 'ok' : 'bad'}"><img src="${thumbnailDataUri(s.image)}" alt="${esc(labels[s.label]!)}">` +
      `<figcaption>${esc(labels[s.predicted]!)}${ok ? '' : ` <small>(true ${esc(labels[s.label]!)})</small>`}</figcaption></figure>`
    );
  });
  return `<p>${wrong.length} of ${samples.length} held-out images are misclassified; mistakes are shown first.</p><div class="grid">${cells.join('')}</div>`;
}

function outcomeRow(o: ModelOutcome | undefined, name: string, selected: boolean): string {
  if (!o) return '';
  return `<tr${selected ? ' class="sel"' : ''}><td>${name}${selected ? ' (exported)' : ''}</td><td>${pct(o.heldOut.accuracy)}</td><td>${o.heldOut.macroF1.toFixed(3)}</td><td>${pct(o.val.accuracy)}</td><td>${o.val.loss.toFixed(4)}</td><td>${o.history.length}</td><td>${o.seconds.toFixed(1)} s</td></tr>`;
}

export function renderReport(r: TrainResult, samples: readonly SamplePrediction[]): string {
  const chosen = r.selected === 'baseline' ? r.baseline! : r.transfer;
  const verdict = r.verdict
    ? `<p class="verdict ${r.baselineWins ? 'neg' : 'pos'}">${esc(r.verdict)}</p>`
    : '<p>No baseline was trained (add <code>--baseline scratch</code> to measure the transfer gain).</p>';
  const timings = Object.entries(r.timings)
    .map(([k, v]) => `${esc(k)} ${v.toFixed(1)} s`)
    .join(' · ');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>edgetune report: ${esc(r.name)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:24px;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f4f4f4}.cm td{min-width:28px;text-align:center}tr.sel{font-weight:bold}
.verdict{font-size:1.15em;padding:10px;border-radius:6px}.neg{background:#fde2e1}.pos{background:#e2f5e2}
.grid{display:flex;flex-wrap:wrap;gap:6px}figure{margin:0;width:72px;text-align:center;font-size:12px}
figure img{width:64px;height:64px;object-fit:contain;image-rendering:pixelated;border:2px solid #2ca02c;background:#000}
figure.bad img{border-color:#d62728}.charts svg{margin-right:12px}code{background:#f4f4f4;padding:0 3px}
</style></head><body>
<h1>${esc(r.name)}</h1>
<p>Backbone <code>${esc(r.backbone.source)}</code>, frozen up to <code>${esc(r.plan.boundary)}</code>, embedding <code>${esc(r.plan.featureTensor)}</code> (${r.plan.embeddingDim}-d), ${r.plan.trainableConvs} conv layers re-trained. ${r.counts.train} training / ${r.counts.val} validation images, held-out set: ${r.heldOutSet} (${r.counts.heldOut} images), ${r.counts.classes} classes.${r.refit ? ` The exported model was then trained again from the same initial weights on all ${r.refit.images} labelled images, for twice the epochs early stopping on the validation split kept, with the learning rate decayed${r.heldOutSet === 'validation' ? " (its validation figures are the first fit's, scored before that)" : ''}.` : ''}</p>
${verdict}
${selectionSection(r.selection)}<table><tr><th>model</th><th>held-out accuracy</th><th>macro F1</th><th>val accuracy</th><th>val loss</th><th>epochs</th><th>time</th></tr>
${outcomeRow(r.transfer, 'transfer', r.selected === 'transfer')}${outcomeRow(r.baseline, 'scratch baseline', r.selected === 'baseline')}</table>
<p>Parity gate: exported ONNX vs tfjs, max |Δp| = ${r.parity.maxAbsDiff.toExponential(2)} on ${r.parity.samples} images (limit ${r.parity.tolerance}). Frozen-prefix features: ${r.features.computed} computed, ${r.features.cacheHits} from cache.</p>
<h2>Learning curves</h2>
<div class="charts">${historyCharts('transfer', r.transfer.history)}</div>
${r.baseline ? `<div class="charts">${historyCharts('scratch baseline', r.baseline.history)}</div>` : ''}
<h2>Confusion matrix (${r.selected}, held-out)</h2>
${confusionTable(chosen.heldOut, r.labels)}
<h2>Per class (${r.selected}, held-out)</h2>
${perClassTable(chosen.heldOut)}
<h2>Sample predictions (${r.selected}, held-out)</h2>
${sampleGrid(samples, r.labels)}
<p><small>Timings: ${timings}</small></p>
${r.throughput ? `<p><small>Data: ${esc(describeThroughput(r.throughput))}</small></p>` : ''}
</body></html>
`;
}
