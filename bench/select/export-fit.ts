/**
 * Does a failed export fit of the scratch CNN show on the labelled images? On the negative-transfer
 * task the `--select auto` pick is exported from ONE fit on the run's split, and on seed 5 that fit
 * reached 58.3 % on the test set where its CV fits averaged 84 %. `--baseline scratch` trains the
 * same network on the same split with the same seed (its test accuracy equals the search's
 * hindsight figure), and its validation split (2 images per class, never trained on) is labelled
 * data the pick could look at. Prints, per seed, the fit's validation and test accuracy and the
 * epoch early stopping kept.
 *
 *   EDGETUNE_CACHE_DIR=... nice node --import tsx bench/select/export-fit.ts [--seeds 4,5,6]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initTf } from '../../training/tf/backend.ts';
import { runTraining } from '../../training/train/run.ts';
import { REFIT_TASKS } from './refit-tasks.ts';

const i = process.argv.indexOf('--seeds');
const seeds = (i >= 0 ? process.argv[i + 1]! : '4,5,6').split(',').map(Number);
await initTf({ backend: 'wasm' });
const negative = REFIT_TASKS.negative;
const backbone = await negative.backbone();
const lines = [
  '| seed | scratch CNN: validation acc. (10 images) | epoch kept | test acc. |',
  '|---|---|---|---|',
];
for (const seed of seeds) {
  const r = await runTraining({
    backbone,
    data: negative.data,
    testData: negative.testData,
    name: 'export-fit',
    seed,
    baseline: 'scratch',
    select: 'best',
    out: fs.mkdtempSync(path.join(os.tmpdir(), 'edgetune-export-fit-')),
    progress: { log: (m) => process.stderr.write(`${m}\n`), task: () => ({ tick() {}, done() {} }) },
  });
  const b = r.baseline!;
  // Early stopping restores the epoch of the lowest validation loss.
  const kept = b.history.reduce((a, h) => ((h.valLoss ?? Infinity) < (a.valLoss ?? Infinity) ? h : a));
  lines.push(
    `| ${seed} | ${(b.val.accuracy * 100).toFixed(0)} % | ${kept.epoch} of ${b.history.length} | ${(b.heldOut.accuracy * 100).toFixed(1)} % |`,
  );
}
console.log(lines.join('\n'));
