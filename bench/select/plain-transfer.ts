/**
 * What `edgetune train --select transfer` (the feature layer and a linear head, no search) scores
 * on a recorded search's task and seed, next to that search's hindsight figure for the same
 * configuration (`<feature layer> · linear`): equal, so the recorded searches compare the
 * `--select auto` pick with the plain transfer model exactly (bench/select/tasks.ts --render).
 *
 *   EDGETUNE_CACHE_DIR=... node --import tsx bench/select/plain-transfer.ts [--seeds 1,2]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initTf } from '../../training/tf/backend.ts';
import { runTraining } from '../../training/train/run.ts';
import { REFIT_TASKS, recordedRun } from './refit-tasks.ts';

const i = process.argv.indexOf('--seeds');
const seeds = (i >= 0 ? process.argv[i + 1]! : '1,2').split(',').map(Number);
await initTf({ backend: 'wasm' });
console.log('| task | seed | `--select transfer` test acc. | recorded `features · linear` | equal |');
console.log('|---|---|---|---|---|');
for (const name of ['negative', 'digits'] as const) {
  const task = REFIT_TASKS[name];
  const backbone = await task.backbone();
  for (const seed of seeds) {
    const r = await runTraining({
      backbone,
      data: task.data,
      testData: task.testData,
      name: `plain-${name}`,
      seed,
      select: 'transfer',
      out: fs.mkdtempSync(path.join(os.tmpdir(), 'edgetune-plain-transfer-')),
      progress: { log: () => {}, task: () => ({ tick() {}, done() {} }) },
    });
    const recorded = recordedRun(name, seed).rows!.find((row) => row.id === 'features · linear')!
      .testAccuracy!;
    console.log(
      `| ${name} | ${seed} | ${(r.accuracy * 100).toFixed(2)} | ${(recorded * 100).toFixed(2)} | ${r.accuracy === recorded ? 'yes' : 'NO'} |`,
    );
  }
}
