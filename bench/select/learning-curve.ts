/**
 * What a learning-curve correction of the CV estimates would pick, replayed on recorded runs.
 *
 * A CV fold trains on fewer images than the export (10 labels per class: 6 per class in a 5-fold
 * split, 7 in a 10-fold one, 8 in the export, each after the inner validation split), and the
 * configurations that gain most from one more image per class — the scratch CNN above all — are
 * underestimated. Two searches of the same task and seed at k = 5 and k = 10 give each
 * configuration an estimate at two training sizes; the straight line through them, carried one
 * more image per class, is an estimate at the export's size that needs no test data. The cost is
 * a second search (for the scratch CNN alone, its splits once more). This replays the shipped rule
 * with every split score of a configuration shifted by that extrapolated gain: the scratch CNN
 * only, or every configuration scored in both runs.
 *
 *   node --import tsx bench/select/learning-curve.ts bench/select/results.json,bench/select/results-k10.json,…
 */
import fs from 'node:fs';
import { type Choice, choosePaired } from '../../training/select/choose.ts';
import { MIN_SPLITS } from '../../training/select/search.ts';
import { type RecordedRun, type Replayed, foldCountOf, gapOf, replayed } from './pick-rules.ts';

/** Labelled images of the recorded tasks (bench/select/tasks.ts), all 10 per class. */
const LABELLED: Record<string, number> = { digits: 100, negative: 50, fashion: 100, photos: 30 };
const PER_CLASS = 10;
const VAL_FRACTION = 0.2;

/** Training images per class of a fold (k) or of the export (k = Infinity): what the inner split leaves. */
export function trainPerClass(k: number): number {
  const rest = PER_CLASS - PER_CLASS / k;
  return rest - Math.max(1, Math.round(rest * VAL_FRACTION));
}

const estimates = (c: Choice) => new Map(c.estimates.map((e) => [e.id, e.estimate]));

/**
 * The shipped pick of the larger-k run after shifting the split scores of `shifted(id)`
 * configurations by their straight-line gain from the smaller-k run's training size to the export's.
 */
export function correctedPick(
  small: { k: number; scored: Replayed[] },
  large: { k: number; scored: Replayed[] },
  shifted: (id: string) => boolean,
): string {
  const lo = estimates(choosePaired(small.scored, MIN_SPLITS)!);
  const hi = estimates(choosePaired(large.scored, MIN_SPLITS)!);
  const [nLo, nHi, nExport] = [trainPerClass(small.k), trainPerClass(large.k), trainPerClass(Infinity)];
  const scored = large.scored.map((c) => {
    const a = lo.get(c.id);
    const b = hi.get(c.id);
    if (!shifted(c.id) || a === undefined || b === undefined) return c;
    const gain = ((b - a) / (nHi - nLo)) * (nExport - nHi);
    return { ...c, folds: c.folds.map((x) => x + gain) };
  });
  return choosePaired(scored, MIN_SPLITS)!.winner;
}

function main(): void {
  const files = (process.argv[2] ?? '').split(',').filter(Boolean);
  if (files.length === 0)
    throw new Error('usage: learning-curve.ts a.json,b.json,… (runs at two values of k)');
  // The last file's run counts for a task, seed and k recorded twice.
  const runs = new Map<string, RecordedRun & { k: number }>();
  for (const f of files) {
    for (const r of JSON.parse(fs.readFileSync(f, 'utf8')) as RecordedRun[]) {
      if (!r.rows || LABELLED[r.task] === undefined) continue;
      const k = foldCountOf(r, LABELLED[r.task]!);
      runs.set(`${r.task}/${r.seed}/${k}`, { ...r, k });
    }
  }
  const modes: { title: string; shifted: (id: string) => boolean }[] = [
    { title: 'shipped rule, no correction', shifted: () => false },
    { title: 'scratch CNN corrected', shifted: (id) => id === 'scratch CNN' },
    { title: 'every configuration corrected', shifted: () => true },
  ];
  const rows: string[] = [];
  const perTask = new Map<string, number[][]>();
  for (const large of [...runs.values()].filter((r) => r.k === 10)) {
    const small = runs.get(`${large.task}/${large.seed}/5`);
    if (!small) continue;
    const lo = { k: small.k, scored: replayed(small)! };
    const hi = { k: large.k, scored: replayed(large)! };
    const picks = modes.map((m) => correctedPick(lo, hi, m.shifted));
    const gaps = picks.map((id) => gapOf(hi.scored, id));
    rows.push(
      `| ${large.task} | ${large.seed} | ${picks.map((id, i) => `${id} (${(gaps[i]! * 100).toFixed(1)})`).join(' | ')} |`,
    );
    perTask.set(large.task, [...(perTask.get(large.task) ?? []), gaps]);
  }
  console.log(`| task | seed | ${modes.map((m) => `${m.title}: pick (gap)`).join(' | ')} |`);
  console.log(`|---|---|${modes.map(() => '---').join('|')}|`);
  for (const r of rows) console.log(r);
  console.log('');
  console.log(`| task | runs | ${modes.map((m) => `mean gap, ${m.title}`).join(' | ')} |`);
  console.log(`|---|---|${modes.map(() => '---').join('|')}|`);
  for (const [task, gs] of perTask) {
    const m = modes.map((_, i) => ((gs.reduce((a, g) => a + g[i]!, 0) / gs.length) * 100).toFixed(1));
    console.log(`| ${task} | ${gs.length} | ${m.join(' | ')} |`);
  }
}

// Run as a script; imported (tests), only the functions.
if (process.argv[1]?.endsWith('learning-curve.ts')) main();
