/**
 * Sums a split-pool timeline (EDGETUNE_SELECT_TIMELINE=<file>, split-pool.ts): how long the pool
 * was open, how many worker-seconds ran splits whose answer was read, ran splits that were then
 * discarded, and sat idle — split into before and after the heads on the main thread finished
 * (`slots=` marks) and the tail after the last split began.
 *
 *   node --import tsx bench/select/timeline.ts <timeline.json> <workers>
 */
import fs from 'node:fs';
import type { TimelineEntry } from '../../training/select/split-pool.ts';

const [file, workersArg] = process.argv.slice(2);
if (!file) throw new Error('usage: timeline.ts <timeline.json> [workers]');
const workers = Number(workersArg ?? 2);
const all = JSON.parse(fs.readFileSync(file, 'utf8')) as TimelineEntry[];
const marks = all.filter((e) => e.key.startsWith('slots='));
const splits = all.filter((e) => !e.key.startsWith('slots='));
const end = Math.max(...splits.map((e) => e.end));
const headsDone = marks.find((m) => m.key === `slots=${workers}`)?.start ?? 0;
/** Worker-seconds busy within [a, b). */
const busy = (a: number, b: number, f: (e: TimelineEntry) => boolean = () => true) =>
  splits.filter(f).reduce((s, e) => s + Math.max(0, Math.min(b, e.end) - Math.max(a, e.start)), 0) / 1000;
const span = (a: number, b: number) => (workers * (b - a)) / 1000;
const lastStart = Math.max(...splits.map((e) => e.start));
const r = (x: number) => Number(x.toFixed(1));
console.log(
  JSON.stringify(
    {
      pool_seconds: r(end / 1000),
      heads_done_at: r(headsDone / 1000),
      busy_read: r(busy(0, end, (e) => e.outcome === 'probs')),
      busy_discarded: r(busy(0, end, (e) => e.outcome !== 'probs')),
      idle_while_heads: r(span(0, headsDone) - busy(0, headsDone)),
      idle_after_heads: r(span(headsDone, end) - busy(headsDone, end)),
      idle_in_tail_after_last_start: r(span(lastStart, end) - busy(lastStart, end)),
      splits: splits
        .sort((a, b) => a.start - b.start)
        .map((e) => `${e.key} ${r(e.start / 1000)}→${r(e.end / 1000)} ${e.outcome}`),
    },
    null,
    2,
  ),
);
