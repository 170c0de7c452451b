/**
 * What fitting a computed head on every labelled image gains over fitting it on the training
 * split alone (the validation images left out): per task, seed and cut point, the logistic and
 * prototype heads' test accuracy both ways, on the same cached features. The seed picks the
 * labelled images and the split, as in bench/select/tasks.ts.
 *
 *   EDGETUNE_CACHE_DIR=... node --import tsx bench/select/all-labelled.ts photos 1,2,3,4,5,6
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DenseWeights } from '../../training/fit/class-means.ts';
import { type ComputedHeadKind, computedHeadWeights } from '../../training/fit/computed-head.ts';
import { defaultFeatureCacheDir } from '../../training/features/cache.ts';
import { lossAndAccuracy } from '../../training/fit/loop.ts';
import { earlierCutPoints } from '../../training/select/candidates.ts';
import { candidateInputs } from '../../training/select/inputs.ts';
import { denseProbs } from '../../training/select/out-of-fold.ts';
import { silentProgress } from '../../training/train/progress.ts';
import { createStageContext } from '../../training/train/stages/context.ts';
import { prepareInputs } from '../../training/train/stages/inputs.ts';
import { tasks } from './tasks.ts';

const [taskName = 'photos', seedList = '1,2,3'] = process.argv.slice(2);
const task = tasks()[taskName];
if (!task) throw new Error(`unknown task ${taskName}`);
const backbone = await task.backbone();
const pct = (x: number) => (x * 100).toFixed(1);
const kinds: ComputedHeadKind[] = ['logistic', 'prototype'];
const gains = new Map<ComputedHeadKind, number[]>(kinds.map((k) => [k, []]));

console.log(
  '| task | seed | cut point | logistic: training split → all labelled | prototype: training split → all labelled |',
);
console.log('|---|---|---|---|---|');
for (const seed of seedList.split(',').map(Number)) {
  const ctx = createStageContext({
    backbone,
    data: task.data,
    testData: task.testData,
    name: 'all-labelled',
    seed,
    backend: 'wasm',
    out: fs.mkdtempSync(path.join(os.tmpdir(), 'edgetune-all-labelled-')),
  });
  const inputs = await prepareInputs(ctx);
  const samples = [...inputs.train.samples, ...inputs.val.samples, ...inputs.test!.samples];
  const y = Int32Array.from([...inputs.yTrain, ...inputs.yVal, ...inputs.yHeld]);
  const nTrain = inputs.train.samples.length;
  const nLabelled = nTrain + inputs.val.samples.length;
  const train = Array.from({ length: nTrain }, (_, j) => j);
  const labelled = Array.from({ length: nLabelled }, (_, j) => j);
  const test = Array.from({ length: inputs.test!.samples.length }, (_, j) => nLabelled + j);
  const yTest = Int32Array.from(test, (r) => y[r]!);
  const feature = inputs.backbone.metadata.features[0]!.name;
  const layers = [feature, ...earlierCutPoints(inputs.backbone.model, feature)];
  const cached = await candidateInputs(
    { backbone: inputs.backbone, samples, cacheDir: defaultFeatureCacheDir(), progress: silentProgress },
    layers,
    undefined,
    [],
  );
  for (const layer of layers) {
    const input = cached.get(`layer:${layer}`)!;
    const dim = input.itemShape.reduce((a, b) => a * b, 1);
    const acc = (w: DenseWeights) => lossAndAccuracy(denseProbs(w, input.x, test, dim), yTest).acc;
    const cells = kinds.map((kind) => {
      const fit = (rows: number[]) => acc(computedHeadWeights(kind, input.x, y, rows, dim, inputs.classes));
      const [before, after] = [fit(train), fit(labelled)];
      gains.get(kind)!.push(after - before);
      return `${pct(before)} → ${pct(after)}`;
    });
    console.log(`| ${taskName} | ${seed} | ${layer} | ${cells.join(' | ')} |`);
  }
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
console.log(
  `\nmean gain (points): ${kinds.map((k) => `${k} ${pct(mean(gains.get(k)!))}`).join(', ')} over ${gains.get('logistic')!.length} cut points × seeds`,
);
