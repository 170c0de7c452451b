/** Learning curves as inline SVG (no scripts, no external assets: the report is one HTML file). */
import type { EpochRecord } from '../fit/loop.ts';

export interface Series {
  name: string;
  color: string;
  values: (number | undefined)[];
  dashed?: boolean;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A line chart of several series over the same x (epoch) axis. */
export function lineChart(
  title: string,
  series: readonly Series[],
  opts: { yMax?: number; yMin?: number } = {},
): string {
  const W = 460;
  const H = 220;
  const m = { l: 46, r: 12, t: 26, b: 30 };
  const all = series.flatMap((s) =>
    s.values.filter((v): v is number => v !== undefined && Number.isFinite(v)),
  );
  const n = Math.max(1, ...series.map((s) => s.values.length));
  if (all.length === 0)
    return `<svg width="${W}" height="${H}"><text x="10" y="20">${esc(title)}: no data</text></svg>`;
  const yMin = opts.yMin ?? Math.min(0, ...all);
  const yMax = opts.yMax ?? Math.max(...all) * 1.05;
  const x = (i: number) => m.l + (n === 1 ? 0 : (i / (n - 1)) * (W - m.l - m.r));
  const y = (v: number) => H - m.b - ((v - yMin) / (yMax - yMin || 1)) * (H - m.t - m.b);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}">`,
    `<text x="${m.l}" y="16" font-size="13" font-weight="bold">${esc(title)}</text>`,
    `<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="#888"/>`,
    `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="#888"/>`,
  ];
  for (let k = 0; k <= 4; k++) {
    const v = yMin + ((yMax - yMin) * k) / 4;
    parts.push(
      `<text x="${m.l - 4}" y="${y(v) + 4}" font-size="10" text-anchor="end">${v.toFixed(2)}</text>`,
      `<line x1="${m.l}" y1="${y(v)}" x2="${W - m.r}" y2="${y(v)}" stroke="#eee"/>`,
    );
  }
  parts.push(
    `<text x="${(W + m.l) / 2}" y="${H - 6}" font-size="10" text-anchor="middle">epoch (1–${n})</text>`,
  );
  series.forEach((s, si) => {
    const pts = s.values
      .map((v, i) =>
        v === undefined || !Number.isFinite(v) ? undefined : `${x(i).toFixed(1)},${y(v).toFixed(1)}`,
      )
      .filter((p): p is string => p !== undefined);
    if (pts.length === 0) return;
    parts.push(
      `<polyline fill="none" stroke="${s.color}" stroke-width="1.8"${s.dashed ? ' stroke-dasharray="5 3"' : ''} points="${pts.join(' ')}"/>`,
      `<text x="${W - m.r - 4}" y="${m.t + 12 + si * 13}" font-size="11" text-anchor="end" fill="${s.color}">${esc(s.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
}

/** Loss and accuracy charts for one training history (all phases in order). */
export function historyCharts(label: string, history: readonly EpochRecord[]): string {
  const phases = [...new Set(history.map((h) => h.phase))].join(' → ');
  return [
    lineChart(`${label}: loss (${phases})`, [
      { name: 'train loss', color: '#1f77b4', values: history.map((h) => h.loss) },
      { name: 'val loss', color: '#d62728', values: history.map((h) => h.valLoss), dashed: true },
    ]),
    lineChart(
      `${label}: accuracy`,
      [
        { name: 'train acc', color: '#1f77b4', values: history.map((h) => h.acc) },
        { name: 'val acc', color: '#d62728', values: history.map((h) => h.valAcc), dashed: true },
      ],
      { yMin: 0, yMax: 1 },
    ),
  ].join('\n');
}

export { esc };
