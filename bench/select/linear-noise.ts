/**
 * The SGD-trained linear head against the logistic head (training/fit/logistic.ts) on the same
 * cached features: per task, seed and cut point, the linear head as `--select auto` trained it
 * before (Adam, dropout 0.2, early stopping on the run's validation split) with five training
 * seeds on the run's split, and the logistic fit (no seed) on the same training rows at three L2
 * strengths. Test accuracy in %, on the task's test set. The seed picks the labelled images, as
 * in bench/select/tasks.ts.
 *
 *   EDGETUNE_CACHE_DIR=... node --import tsx bench/select/linear-noise.ts photos 1,2,3 [0.001,0.01,0.1] [linear|mlp]
 *
 * The last argument puts the search's MLP head (also SGD-trained) in the linear head's place, to
 * see how far one fit of it moves between training seeds.
 */
import { logisticWeights } from '../../training/fit/logistic.ts';
import { lossAndAccuracy } from '../../training/fit/loop.ts';
import { denseProbs } from '../../training/select/out-of-fold.ts';
import { trainTransfer } from '../../training/select/fit.ts';
import { buildSpace, type HeadKind } from '../../training/select/space.ts';
import { transferHyper } from '../../training/train/hyper.ts';
import { cutPointFeatures, runSplit } from './run-split.ts';
import { tasks } from './tasks.ts';

const [taskName = 'photos', seedList = '1,2,3', l2List = '0.001,0.01,0.1', sgdHead = 'linear'] =
  process.argv.slice(2);
if (sgdHead !== 'linear' && sgdHead !== 'mlp')
  throw new Error(`the SGD head is linear or mlp, not ${sgdHead}`);
const head: HeadKind = sgdHead;
const task = tasks()[taskName];
if (!task) throw new Error(`unknown task ${taskName}`);
const l2s = l2List.split(',').map(Number);
const backbone = await task.backbone();
const pct = (x: number) => (x * 100).toFixed(1);

console.log(
  `| task | seed | cut point | SGD ${sgdHead} head, 5 seeds: mean ± sd [each] | logistic, L2 ${l2s.join(' / ')} |`,
);
console.log('|---|---|---|---|---|');
for (const seed of seedList.split(',').map(Number)) {
  const split = await runSplit(task, backbone, seed, 'linear-noise');
  const { inputs, y, train, val, test } = split;
  const { layers, cached } = await cutPointFeatures(split);
  const space = buildSpace({
    layers: layers.map((t) => ({ tensor: t, label: t })),
    depths: [],
    scratch: false,
  });
  const yTest = Int32Array.from(test, (r) => y[r]!);
  for (const layer of layers) {
    const input = cached.get(`layer:${layer}`)!;
    const dim = input.itemShape.reduce((a, b) => a * b, 1);
    const linear = { ...space.find((c) => c.featureLayer === layer)!, head };
    const sgd: number[] = [];
    for (let s = 1; s <= 5; s++) {
      const { probs } = await trainTransfer(
        linear,
        input,
        y,
        inputs.classes,
        { train, val, predict: test },
        seed * 1000 + s,
        transferHyper({}, 0),
      );
      sgd.push(lossAndAccuracy(probs, yTest).acc);
    }
    const m = sgd.reduce((a, b) => a + b) / sgd.length;
    const sd = Math.sqrt(sgd.reduce((a, b) => a + (b - m) ** 2, 0) / (sgd.length - 1));
    const logistic = l2s.map((l2) =>
      pct(
        lossAndAccuracy(
          denseProbs(logisticWeights(input.x, y, train, dim, inputs.classes, { l2 }), input.x, test, dim),
          yTest,
        ).acc,
      ),
    );
    console.log(
      `| ${taskName} | ${seed} | ${layer} | ${pct(m)} ± ${pct(sd)} [${sgd.map((a) => pct(a)).join(', ')}] | ${logistic.join(' / ')} |`,
    );
  }
}
