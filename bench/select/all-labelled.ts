/**
 * What fitting a computed head on every labelled image gains over fitting it on the training
 * split alone (the validation images left out): per task, seed and cut point, the logistic and
 * prototype heads' test accuracy both ways, on the same cached features. The seed picks the
 * labelled images and the split, as in bench/select/tasks.ts.
 *
 *   EDGETUNE_CACHE_DIR=... node --import tsx bench/select/all-labelled.ts photos 1,2,3,4,5,6
 */
import type { DenseWeights } from '../../training/fit/class-means.ts';
import { type ComputedHeadKind, computedHeadWeights } from '../../training/fit/computed-head.ts';
import { lossAndAccuracy } from '../../training/fit/loop.ts';
import { denseProbs } from '../../training/select/out-of-fold.ts';
import { cutPointFeatures, runSplit } from './run-split.ts';
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
  const split = await runSplit(task, backbone, seed, 'all-labelled');
  const { inputs, y, train, val, test } = split;
  const labelled = [...train, ...val];
  const yTest = Int32Array.from(test, (r) => y[r]!);
  const { layers, cached } = await cutPointFeatures(split);
  for (const layer of layers) {
    const input = cached.get(`layer:${layer}`)!;
    const dim = input.itemShape.reduce((a, b) => a * b, 1);
    const acc = (w: DenseWeights) => lossAndAccuracy(denseProbs(w, input.x, test, dim), yTest).acc;
    const cells = kinds.map((kind) => {
      const testAccOf = (rows: number[]) =>
        acc(computedHeadWeights(kind, input.x, y, rows, dim, inputs.classes));
      const [before, after] = [testAccOf(train), testAccOf(labelled)];
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
