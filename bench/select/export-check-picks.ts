/**
 * Would the export fit's check (training/select/export-check.ts) fire on the recorded runs' picks?
 * Per task and seed: the shipped rule's pick replayed on the recorded splits, trained and exported
 * the way `--select auto` exports it (the recipe's reuse path: the same configuration, split and
 * seed, no search), its validation count tested against its CV held-out count. Prints the
 * export's test accuracy next to the recorded hindsight figure (equal when the fit is the same),
 * the counts and the test's p-value. A prototype head is not checked (nothing random to fit).
 *
 *   EDGETUNE_CACHE_DIR=... nice node --import tsx bench/select/export-check-picks.ts \
 *     --runs digits:1,digits:3,negative:1
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { choosePaired } from '../../training/select/choose.ts';
import { EXPORT_CHECK_ALPHA, fisherLowerTail } from '../../training/select/export-check.ts';
import { MIN_SPLITS } from '../../training/select/search.ts';
import { buildSpace } from '../../training/select/space.ts';
import { runTraining } from '../../training/train/run.ts';
import { replayed } from './pick-rules.ts';
import { REFIT_TASKS, recordedRun } from './refit-tasks.ts';

const i = process.argv.indexOf('--runs');
const runs = (i >= 0 ? process.argv[i + 1]! : 'digits:1,digits:3,negative:1').split(',').map((r) => {
  const [task, seed] = r.split(':') as ['negative' | 'digits', string];
  return { task, seed: Number(seed) };
});
const lines = [
  '| task | seed | pick | recorded test acc. | export test acc. | validation right | CV held-out right | p | fires |',
  '|---|---|---|---|---|---|---|---|---|',
];
for (const { task, seed } of runs) {
  const t = REFIT_TASKS[task];
  const run = recordedRun(task, seed);
  const scored = replayed(run)!;
  const pick = scored.find((c) => c.id === choosePaired(scored, MIN_SPLITS)!.winner)!;
  // The configuration as space.ts builds it (the cut point's tensor is inside `pool(…)`).
  const layer = /^pool\((.*)\) · /.exec(pick.id)?.[1];
  const config = buildSpace({
    layers: [{ tensor: layer, label: layer ? `pool(${layer})` : 'features' }],
    depths: [1, 2],
    scratch: true,
  }).find((c) => c.id === pick.id)!;
  const r = await runTraining({
    backbone: await t.backbone(),
    data: t.data,
    testData: t.testData,
    name: 'export-check-picks',
    seed,
    select: 'auto',
    chosen: config,
    out: fs.mkdtempSync(path.join(os.tmpdir(), 'edgetune-export-check-picks-')),
  });
  const held = t.labelled / 10;
  // The exported model's outcome: the scratch CNN's (baseline) or the transfer fit's.
  const outcome = config.kind === 'scratch' ? r.baseline! : r.transfer;
  const val = { correct: Math.round(outcome.val.accuracy * r.counts.val), images: r.counts.val };
  const cv = {
    correct: pick.folds.reduce((a, f) => a + Math.round(f * held), 0),
    images: pick.folds.length * held,
  };
  const checked = !(config.kind === 'transfer' && config.head === 'prototype');
  const p = fisherLowerTail(val, cv);
  lines.push(
    `| ${task} | ${seed} | ${pick.id} | ${(pick.testAccuracy! * 100).toFixed(1)} | ${(r.accuracy * 100).toFixed(1)} | ${val.correct} of ${val.images} | ${cv.correct} of ${cv.images} | ${p.toFixed(3)} | ${checked ? (p < EXPORT_CHECK_ALPHA ? 'yes' : 'no') : 'not checked'} |`,
  );
  console.error(lines.at(-1));
}
console.log(lines.join('\n'));
