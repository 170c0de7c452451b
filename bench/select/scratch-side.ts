/**
 * The scratch CNN at the side `--select auto` gives it (`scratchSide`: the backbone's input side
 * capped at 64 px, and no larger than the labelled images) against another side, on a recorded
 * task's split plan (bench/select/tasks.ts; the plan the search builds from the same seed): the
 * accuracy of each of the first splits and their mean, then the test accuracy of a fit on the
 * run's training split — the two numbers `--select auto` reports for it. Beside them: the recorded
 * search's split accuracies for the scratch CNN (equal where the side is the one it used) and its
 * pick replayed with the recorded and with these splits.
 *
 *   EDGETUNE_CACHE_DIR=… nice node --import tsx bench/select/scratch-side.ts --task digits --seeds 1,3,4 --sides 28,20 [--splits 5] [--reduce 0|1]
 *
 * `--reduce 0|1`: whether the network reduces its input (buildArch's `reduceInput`) at every side,
 * instead of `scratchReducesInput`'s choice: the same side with and without it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadDataset, splitDataset } from '../../training/datasets/index.ts';
import { scratchSide } from '../../training/fit/baseline.ts';
import { lossAndAccuracy } from '../../training/fit/loop.ts';
import { trainScratch } from '../../training/select/fit.ts';
import { foldCount, splitPlan } from '../../training/select/folds.ts';
import { choosePaired } from '../../training/select/choose.ts';
import { FIRST_SPLITS, HEAD_REPEATS, MAX_FOLDS, MIN_SPLITS } from '../../training/select/search.ts';
import { initTf } from '../../training/tf/backend.ts';
import { resolveBackbone } from '../../training/train/backbone.ts';
import { transferHyper } from '../../training/train/hyper.ts';
import { decodeTargetFor } from '../../shared/preprocess/preprocess.ts';
import { replayed } from './pick-rules.ts';
import type { TaskResult } from './tasks.ts';
import { tasks } from './tasks.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

const name = arg('--task', 'digits');
const seeds = arg('--seeds', '1').split(',').map(Number);
const splits = Number(arg('--splits', String(FIRST_SPLITS)));
const reduceInput = process.argv.includes('--reduce') ? arg('--reduce', '0') === '1' : undefined;
const task = tasks()[name];
if (!task) throw new Error(`unknown task ${name}`);
await initTf({ backend: 'wasm' });
const backbone = await resolveBackbone(await task.backbone(), () => {});
const backboneSide = Math.max(backbone.preprocess.width, backbone.preprocess.height);
const channels = backbone.preprocess.channels;
const VAL_FRACTION = 0.2;

/** The recorded search of this task and seed, if any. */
function recorded(seed: number): TaskResult | undefined {
  const dir = import.meta.dirname;
  for (const f of fs.readdirSync(dir).filter((f) => /^results.*\.json$/.test(f))) {
    const runs = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as unknown;
    if (!Array.isArray(runs)) continue;
    const run = (runs as TaskResult[]).find((r) => r.task === name && r.seed === seed && r.rows);
    if (run?.rows?.some((r) => r.id === 'scratch CNN' && r.folds.length > 0)) return run;
  }
  return undefined;
}

/** The shipped pick of a recorded search with the scratch CNN's split scores replaced. */
function pickWith(run: TaskResult, folds: number[]): string {
  const scored = replayed(run)!.map((r) =>
    r.id === 'scratch CNN' ? { ...r, folds: folds.slice(0, r.folds.length) } : r,
  );
  return choosePaired(scored, MIN_SPLITS)!.winner;
}

for (const seed of seeds) {
  const load = { seed, cwd: process.cwd(), ...decodeTargetFor(backbone.preprocess) };
  const ds = await loadDataset(task.data, load);
  const test = await loadDataset(task.testData, load);
  const { train, val } = splitDataset(ds, { valFraction: VAL_FRACTION, seed });
  const labelled = [...train.samples, ...val.samples];
  const index = new Map(ds.labels.map((l, i) => [l, i]));
  const y = Int32Array.from(labelled, (s) => s.label);
  const yTest = Int32Array.from(test.samples, (s) => index.get(test.labels[s.label]!)!);
  const k = foldCount(y, ds.labels.length, MAX_FOLDS);
  const plan = splitPlan(y, k, k >= MAX_FOLDS ? 1 : HEAD_REPEATS, seed, VAL_FRACTION);
  const images = [...labelled, ...test.samples].map((s) => s.image);
  const yAll = Int32Array.from([...y, ...yTest]);
  const n = labelled.length;
  const searchSide = scratchSide(
    backboneSide,
    labelled.map((s) => s.image),
  );
  const sides = arg('--sides', String(searchSide)).split(',').map(Number);
  const batchSize = transferHyper({}, 0).batchSize;
  const acc = (probs: Float32Array, rows: readonly number[]) =>
    lossAndAccuracy(
      probs,
      Int32Array.from(rows, (r) => yAll[r]!),
    ).acc;
  for (const side of sides) {
    const shape = { side, channels, batchSize, reduceInput };
    const cpu0 = process.cpuUsage();
    const folds: number[] = [];
    for (const split of plan.slice(0, splits)) {
      const rows = { train: split.train, val: split.val, predict: split.held };
      folds.push(
        acc((await trainScratch(images, yAll, ds.labels.length, rows, seed, shape)).probs, split.held),
      );
    }
    const testRows = Array.from({ length: yTest.length }, (_, i) => n + i);
    const runSplit = {
      train: Array.from({ length: train.samples.length }, (_, i) => i),
      val: Array.from({ length: val.samples.length }, (_, i) => train.samples.length + i),
      predict: testRows,
    };
    const testAcc = acc(
      (await trainScratch(images, yAll, ds.labels.length, runSplit, seed, shape)).probs,
      testRows,
    );
    const cpu = process.cpuUsage(cpu0);
    const mean = folds.reduce((a, b) => a + b, 0) / folds.length;
    const run = recorded(seed);
    const scratchOf = (r: TaskResult) => r.rows!.find((c) => c.id === 'scratch CNN')!.folds;
    console.log(
      `${name} seed ${seed} side ${side}${side === searchSide ? ' (scratchSide)' : ''}, input reduced: ${reduceInput ?? 'default'}: splits [${folds.join(', ')}] ` +
        `mean ${(mean * 100).toFixed(1)}%, test ${(testAcc * 100).toFixed(1)}% (${yTest.length} images), ` +
        `${((cpu.user + cpu.system) / 1e6).toFixed(1)} CPU s; recorded search: ${
          run
            ? `[${scratchOf(run).join(', ')}], pick ${pickWith(run, scratchOf(run))}, with these splits ${pickWith(run, folds)}`
            : '—'
        }`,
    );
  }
}
