/**
 * The search's order replayed on recorded runs (bench/select/results*.json): which configurations
 * racing stops, how many expensive splits (re-trained layers, the scratch CNN) are trained, and the
 * pick — with the re-trained layers and the scratch CNN scored one after the other (each on all
 * its first splits before the next starts) or in rounds (split 1 of each, then split 2 of each, …),
 * so a strong one stops the weak ones after two splits whichever comes first in the space. Every
 * split score comes from the recording; a run where an order asks for a split the recording lacks
 * is counted as not replayable.
 *
 *   node --import tsx bench/select/race-order.ts [results-a.json,…]   (default: every results file)
 */
import fs from 'node:fs';
import path from 'node:path';
import { choosePaired, clearlyWorse } from '../../training/select/choose.ts';
import {
  EXPENSIVE_RACE_MIN_SPLITS,
  FIRST_SPLITS,
  HEAD_REPEATS,
  MAX_FOLDS,
  MIN_SPLITS,
} from '../../training/select/search.ts';
import { HEAD_KINDS, type HeadKind } from '../../training/select/space.ts';
import { foldCountOf, type RecordedRun, type Replayed, replayed } from './pick-rules.ts';
import { tasks } from './tasks.ts';

class Missing extends Error {}

/**
 * The search raced the heads too, after 3 splits, when the runs this replays were recorded; it no
 * longer does (search.ts), but the recordings hold only the splits that racing left them.
 */
const RACE_MIN_SPLITS = 3;

type Order = 'sequential' | 'rounds';

interface Outcome {
  pick: string;
  expensiveSplits: number;
  folds: Map<string, number>;
}

function simulate(recorded: Replayed[], k: number, order: Order): Outcome {
  const rows = recorded.map((r) => ({ ...r, folds: [] as number[] }));
  const oracle = new Map(recorded.map((r) => [r.id, r.folds]));
  const cheap = (id: string) => !id.startsWith('fine-tune ') && id !== 'scratch CNN';
  const stopped = new Set<string>();
  const leader = () => {
    const c = choosePaired(
      rows.filter((r) => r.folds.length >= MIN_SPLITS),
      MIN_SPLITS,
    );
    return c ? rows.find((r) => r.id === c.best) : undefined;
  };
  const scoreOne = (row: (typeof rows)[number], race: boolean): boolean => {
    const i = row.folds.length;
    const v = oracle.get(row.id)![i];
    if (v === undefined) throw new Missing(`${row.id} split ${i + 1}`);
    row.folds.push(v);
    const lead = race ? leader() : undefined;
    const after = cheap(row.id) ? RACE_MIN_SPLITS : EXPENSIVE_RACE_MIN_SPLITS;
    if (lead && lead !== row && clearlyWorse(row.folds, lead.folds, after)) {
      stopped.add(row.id);
      return false;
    }
    return true;
  };
  const first = Math.min(k, FIRST_SPLITS);
  const planLength = k * (k >= MAX_FOLDS ? 1 : HEAD_REPEATS);
  const kind = (id: string) => id.slice(id.lastIndexOf(' · ') + 3) as HeadKind;
  // 1. Heads, cheapest kind first.
  const heads = rows
    .filter((r) => cheap(r.id))
    .sort(
      (a, b) =>
        HEAD_KINDS.indexOf(kind(a.id)) - HEAD_KINDS.indexOf(kind(b.id)) || rows.indexOf(a) - rows.indexOf(b),
    );
  for (const row of heads) {
    for (let i = 0; i < first; i++) if (!scoreOne(row, row !== rows[0])) break;
  }
  // 2. The expensive configurations (not run when a head scored 100% on every split).
  const expensive = rows.filter((r) => !cheap(r.id));
  let expensiveSplits = 0;
  const perfect = () => leader()?.folds.every((a) => a === 1) ?? false;
  if (order === 'sequential') {
    for (const row of expensive) {
      if (perfect()) break;
      for (let i = 0; i < first; i++) {
        expensiveSplits++;
        if (!scoreOne(row, true)) break;
      }
    }
  } else if (!perfect()) {
    for (let i = 0; i < first; i++) {
      for (const row of expensive) {
        if (stopped.has(row.id)) continue;
        expensiveSplits++;
        scoreOne(row, true);
      }
    }
  }
  // 3. The rest of the plan for the heads still in contention (as then).
  for (let i = first; i < planLength; i = i < k ? k : i + k) {
    const next = i < k ? k : i + k;
    for (const row of rows.filter((r) => cheap(r.id) && !stopped.has(r.id) && r.folds.length === i)) {
      const lead = leader();
      if (lead && lead !== row && clearlyWorse(row.folds, lead.folds, RACE_MIN_SPLITS)) {
        stopped.add(row.id);
        continue;
      }
      for (let j = i; j < next; j++) scoreOne(row, false);
    }
  }
  const choice = choosePaired(
    rows.filter((r) => r.folds.length >= MIN_SPLITS),
    MIN_SPLITS,
  )!;
  return { pick: choice.winner, expensiveSplits, folds: new Map(rows.map((r) => [r.id, r.folds.length])) };
}

const dir = import.meta.dirname;
const files = (process.argv[2] ?? '')
  .split(',')
  .filter(Boolean)
  .concat(process.argv[2] ? [] : fs.readdirSync(dir).filter((f) => /^results-.*\.json$/.test(f)));
const all = tasks();
const lines = [
  '| run | recorded pick | sequential: pick, expensive splits | rounds: pick, expensive splits |',
  '|---|---|---|---|',
];
for (const f of files) {
  const runs = JSON.parse(
    fs.readFileSync(path.isAbsolute(f) ? f : path.join(dir, f), 'utf8'),
  ) as (RecordedRun & {
    pick: string;
  })[];
  for (const run of runs) {
    const scored = replayed(run);
    if (!scored || !all[run.task]) continue;
    const k = foldCountOf(run, all[run.task]!.labelled);
    const cell = (order: Order) => {
      try {
        const o = simulate(scored, k, order);
        const same = scored.every((r) => o.folds.get(r.id) === r.folds.length);
        return `${o.pick}, ${o.expensiveSplits}${order === 'sequential' ? (same ? ' (recording reproduced)' : ' (fold counts differ)') : ''}`;
      } catch (e) {
        if (e instanceof Missing) return `not replayable (needs ${e.message})`;
        throw e;
      }
    };
    lines.push(
      `| ${run.task} seed ${run.seed} (${f}) | ${run.pick} | ${cell('sequential')} | ${cell('rounds')} |`,
    );
  }
}
console.log(lines.join('\n'));
