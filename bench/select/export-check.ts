/**
 * The export fit's check (training/select/export-check.ts) on the negative-transfer task's scratch
 * CNN, without a search: per seed, the scratch CNN trained on the run's split exactly as the
 * search's hindsight fit and the export train it, checked against its recorded CV splits
 * (bench/select/results-*.json), refitted with another seed where the check fires. Prints each
 * fit's validation count and test accuracy, and which fit the export would keep.
 *
 *   EDGETUNE_CACHE_DIR=... nice node --import tsx bench/select/export-check.ts [--seeds 5]
 */
import { lossAndAccuracy } from '../../training/fit/loop.ts';
import { BASELINE_MAX_SIDE } from '../../training/fit/baseline.ts';
import { checkExportFit } from '../../training/select/export-check.ts';
import { trainScratch } from '../../training/select/fit.ts';
import { transferHyper } from '../../training/train/hyper.ts';
import { REFIT_TASKS, recordedRun } from './refit-tasks.ts';
import { runSplit } from './run-split.ts';

const i = process.argv.indexOf('--seeds');
const seeds = (i >= 0 ? process.argv[i + 1]! : '5').split(',').map(Number);
const negative = REFIT_TASKS.negative;
const backbone = await negative.backbone();
const lines = [
  '| seed | CV: held-out images right | fit (seed): validation right, test acc. | p | refit (seed): validation right, test acc. | exported |',
  '|---|---|---|---|---|---|',
];
for (const seed of seeds) {
  const { inputs, samples, y, train, val, test } = await runSplit(negative, backbone, seed, 'export-check');
  const nVal = val.length;
  const pre = inputs.backbone.preprocess;
  const shape = {
    side: Math.min(BASELINE_MAX_SIDE, Math.max(pre.width, pre.height)),
    channels: pre.channels,
    batchSize: transferHyper({}, 0).batchSize,
  };
  const testAcc = new Map<number, number>();
  const check = await checkExportFit(
    async (s) => {
      const { probs } = await trainScratch(
        samples.map((x) => x.image),
        y,
        inputs.classes,
        { train, val, predict: [...val, ...test] },
        s,
        shape,
      );
      const acc = (rows: number[], from: number) =>
        lossAndAccuracy(
          probs.slice(from * inputs.classes, (from + rows.length) * inputs.classes),
          Int32Array.from(rows, (r) => y[r]!),
        ).acc;
      testAcc.set(s, acc(test, nVal));
      return Math.round(acc(val, 0) * nVal);
    },
    seed,
    nVal,
    (() => {
      const folds = recordedRun('negative', seed).rows!.find((r) => r.id === 'scratch CNN')!.folds;
      // 50 labelled images, 10 folds: 5 held out per split.
      return { correct: folds.reduce((a, f) => a + Math.round(f * 5), 0), images: folds.length * 5 };
    })(),
  );
  const pct = (s: number) => `${(testAcc.get(s)! * 100).toFixed(1)} %`;
  lines.push(
    `| ${seed} | ${check.cv.correct} of ${check.cv.images} | (${check.seed}) ${check.val.correct} of ${nVal}, ${pct(check.seed)} | ${check.pValue.toFixed(3)} | ${check.refit ? `(${check.refit.seed}) ${check.refit.val.correct} of ${nVal}, ${pct(check.refit.seed)}` : '—'} | seed ${check.fitSeed}: ${pct(check.fitSeed)} |`,
  );
  console.error(lines.at(-1));
}
console.log(lines.join('\n'));
