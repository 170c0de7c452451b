/**
 * Replays the safe racing bound (training/select/race.ts) on recorded searches: every
 * configuration's per-split accuracies from real runs (`bench/select/tasks.ts --out`), so what the
 * bound would have stopped, how many expensive splits that saves and whether the pick (the best
 * paired estimate) changes can be checked without training anything. At the time re-trained layers
 * and the scratch CNN are scored, the heads have their first splits only; the replay gives them
 * those, scores the expensive configurations in the search's order against the leader of the
 * moment, and cuts each where the bound would have stopped it.
 *
 *   node --import tsx bench/select/race-replay.ts [bench/select/results-k10.json,bench/select/results.json]
 */
import fs from 'node:fs';
import { choosePaired, type Scored } from '../../training/select/choose.ts';
import { cannotOvertake } from '../../training/select/race.ts';
import { FIRST_SPLITS, MIN_SPLITS } from '../../training/select/search.ts';

interface RecordedRun {
  task: string;
  seed: number;
  rows: Scored[];
}

const expensive = (id: string) => id.startsWith('fine-tune') || id === 'scratch CNN';

export function replayRun(run: RecordedRun): {
  stopped: Map<string, number>;
  saved: number;
  before: string;
  after: string;
} {
  const k = Math.max(...run.rows.map((r) => r.folds.length));
  const first = Math.min(k, FIRST_SPLITS);
  const state: Scored[] = run.rows
    .filter((r) => !expensive(r.id))
    .map((r) => ({ ...r, folds: r.folds.slice(0, first) }));
  const stopped = new Map<string, number>();
  let saved = 0;
  for (const row of run.rows.filter((r) => expensive(r.id))) {
    const best = choosePaired(state, MIN_SPLITS)?.best;
    const lead = state.find((r) => r.id === best);
    let cut = row.folds.length;
    for (let n = MIN_SPLITS; lead && n < row.folds.length; n++) {
      if (cannotOvertake(row.folds.slice(0, n), lead.folds, first)) {
        cut = n;
        break;
      }
    }
    if (cut < row.folds.length) {
      stopped.set(row.id, cut);
      saved += row.folds.length - cut;
    }
    state.push({ ...row, folds: row.folds.slice(0, cut) });
  }
  const cutRows = run.rows.map((r) =>
    stopped.has(r.id) ? { ...r, folds: r.folds.slice(0, stopped.get(r.id)) } : r,
  );
  return {
    stopped,
    saved,
    before: choosePaired(run.rows, MIN_SPLITS)!.best,
    after: choosePaired(cutRows, MIN_SPLITS)!.best,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const files = (process.argv[2] ?? 'bench/select/results-k10.json,bench/select/results.json').split(',');
  let runs = 0;
  let changed = 0;
  let saved = 0;
  let expensiveSplits = 0;
  for (const file of files) {
    for (const run of JSON.parse(fs.readFileSync(file, 'utf8')) as RecordedRun[]) {
      const r = replayRun(run);
      runs++;
      saved += r.saved;
      expensiveSplits += run.rows.filter((x) => expensive(x.id)).reduce((a, x) => a + x.folds.length, 0);
      if (r.before !== r.after) changed++;
      const cuts = [...r.stopped].map(([id, n]) => `${id} after ${n}`).join(', ') || 'nothing stopped';
      console.log(
        `${file} ${run.task} seed ${run.seed}: ${cuts}; pick ${r.before}${r.before === r.after ? '' : ` → ${r.after}`}`,
      );
    }
  }
  console.log(
    `${runs} runs: ${saved} of ${expensiveSplits} expensive splits saved, pick changed in ${changed}`,
  );
}
