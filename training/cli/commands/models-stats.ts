import type { Command } from 'commander';
import { parseWindow, readModelStats, type VersionSummary } from '../../../shared/metrics/summary.ts';
import { assertName } from '../../../shared/names.ts';
import { printResult } from '../output.ts';
import { type StoreCommandOptions, storeFrom, withStoreOptions } from './store-options.ts';

const ms = (x: number | null) => (x === null ? '-' : `${Number(x.toFixed(1))}`);
const pct = (x: number | null) => (x === null ? '-' : `${(x * 100).toFixed(1)}%`);
const counts = (r: Record<string, number>) =>
  Object.entries(r)
    .map(([k, n]) => `${k}:${n}`)
    .join(' ') || '-';

function row(v: VersionSummary): string[] {
  return [
    v.version,
    String(v.requests),
    String(v.errors),
    ms(v.latencyMs.p50),
    ms(v.latencyMs.p95),
    ms(v.latencyMs.p99),
    counts(v.byStatus),
    counts(v.byReason),
    v.shadow ? `${pct(v.shadow.agreement)} of ${v.shadow.compared}` : '-',
    v.feedback ? `${pct(v.feedback.agreement)} of ${v.feedback.samples}` : '-',
  ];
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** `edgetune models stats <name> [--window 1h]`: what the edge served per version, from the store. */
export function registerStats(models: Command): void {
  withStoreOptions(
    models
      .command('stats <name>')
      .description(
        'requests, errors, latency percentiles (ms in the Worker), shadow and feedback agreement per version',
      )
      .option('--window <span>', 'how far back: 90s, 15m, 1h, 7d (whole 5-minute slots)', '1h'),
  ).action(async (name: string, options: StoreCommandOptions & { window: string }) => {
    assertName('model', name);
    const windowMs = parseWindow(options.window);
    const store = storeFrom(options);
    const stats = await readModelStats(store, name, { windowMs });
    printResult(options, { store: store.url, ...stats }, () => {
      const head = `model ${name} in ${store.url}, ${stats.window.from} .. ${stats.window.to} (${stats.window.slots} slots)`;
      if (stats.versions.length === 0) return `${head}\nno requests recorded in this window`;
      const header = [
        'version',
        'requests',
        '5xx',
        'p50',
        'p95',
        'p99',
        'status',
        'route',
        'shadow agree',
        'feedback agree',
      ];
      return `${head}\n${table([header, ...stats.versions.map(row)])}`;
    });
  });
}
