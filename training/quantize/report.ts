/** The int8 section of report.html: the gate's numbers, and why a variant was not published. */
import type { QuantizedVariant } from '../../shared/manifest/manifest.ts';
import { esc } from '../report/svg.ts';
import type { QuantizeAttempt } from './variant.ts';

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

export function quantizationSection(v: QuantizedVariant, attempts: readonly QuantizeAttempt[] = []): string {
  const g = v.gate;
  const status = v.published
    ? `<p class="verdict pos">int8 variant published as <code>${esc(v.file ?? '')}</code> (${((v.size ?? 0) / 1024).toFixed(0)} KiB).</p>`
    : `<p class="verdict neg">int8 variant NOT published: ${esc(v.reason ?? 'gate failed')}. The version is served in fp32 only.</p>`;
  const rows = attempts
    .map(
      (a) =>
        `<tr><td>${esc(a.method)}</td><td>${esc(a.fp32Nodes.join(', ') || '—')}</td><td>${pct(a.gate.accuracy)}</td><td>${a.gate.accuracyDropPoints.toFixed(2)}</td><td>${pct(a.gate.top1Agreement)}</td><td>${a.gate.embeddingCosine.toFixed(4)}</td><td>${a.gate.passed ? 'pass' : 'fail'}</td></tr>`,
    )
    .join('');
  return `<section id="int8">
<h2>int8 variant</h2>
${status}
<p>Weights int8 symmetric per output channel; activations ${v.scheme.activationBits}-bit, calibrated (${esc(v.scheme.calibration)}) on ${v.scheme.calibrationSamples} training images. Gate on ${g.samples} held-out images: accuracy ${pct(g.accuracy)} vs fp32 ${pct(g.fp32Accuracy)} (drop ${g.accuracyDropPoints.toFixed(2)} points, max ${g.maxAccuracyDropPoints}), top-1 agreement ${pct(g.top1Agreement)} (min ${pct(g.minTop1Agreement)}), mean embedding cosine to fp32 ${g.embeddingCosine.toFixed(4)}.</p>
${rows ? `<table><tr><th>calibration</th><th>kept fp32</th><th>accuracy</th><th>drop (points)</th><th>top-1 agreement</th><th>embedding cosine</th><th>gate</th></tr>${rows}</table>` : ''}
</section>`;
}

/** report.html with the int8 section put in (replacing an earlier one), before </body>. */
export function withQuantizationSection(html: string, section: string): string {
  const cleaned = html.replace(/<section id="int8">[\s\S]*?<\/section>\n?/, '');
  const at = cleaned.lastIndexOf('</body>');
  return at < 0 ? `${cleaned}${section}\n` : `${cleaned.slice(0, at)}${section}\n${cleaned.slice(at)}`;
}
