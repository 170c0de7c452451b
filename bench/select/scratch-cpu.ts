/**
 * Where the scratch CNN's cross-validation time goes on the `auto_select_seconds` task (10 labels
 * × 10 classes, trained at the side `--select auto` picks: the images' own 20 px): one split of the
 * plan trained exactly as the search trains it (`trainScratch`'s `trainBaseline` with the same
 * class weights and batch size), with CPU seconds and validation loss per epoch, the epoch early
 * stopping kept and where it stopped.
 *
 *   EDGETUNE_CACHE_DIR=… node --import tsx bench/select/scratch-cpu.ts [--split 1] [--side 64] [--reduce 0|1]
 */
import { loadSearchTask } from './bench-task.ts';
import { scratchSide, trainBaseline } from '../../training/fit/baseline.ts';
import { balancedClassWeights, lossAndAccuracy } from '../../training/fit/loop.ts';
import { transferHyper } from '../../training/train/hyper.ts';

const i = process.argv.indexOf('--split');
const which = i >= 0 ? Number(process.argv[i + 1]) : 1;
// `--side <px>`: train at that side instead of the search's (e.g. 64, the side before the images'
// own size capped it).
const j = process.argv.indexOf('--side');
const sideArg = j >= 0 ? Number(process.argv[j + 1]) : 0;
// `--reduce 0|1`: whether the network reduces its input, instead of `scratchReducesInput`'s choice.
const k = process.argv.indexOf('--reduce');
const reduceInput = k >= 0 ? process.argv[k + 1] === '1' : undefined;
const { backbone, labelled, y, classes, plan } = await loadSearchTask();
const split = plan[which - 1]!;
const take = (idx: readonly number[]) => ({
  images: idx.map((r) => labelled[r]!.image),
  y: Int32Array.from(idx, (r) => y[r]!),
});
const fold = take(split.train);
const epochs: string[] = [];
const started = process.cpuUsage();
let last = process.cpuUsage();
const baseline = await trainBaseline({
  train: fold,
  val: take(split.val),
  classes,
  side:
    sideArg > 0
      ? sideArg
      : scratchSide(
          Math.max(backbone.preprocess.width, backbone.preprocess.height),
          labelled.map((s) => s.image),
        ),
  channels: backbone.preprocess.channels,
  seed: 1,
  reduceInput,
  classWeights: balancedClassWeights(fold.y, classes),
  batchSize: transferHyper({}, 0).batchSize,
  onEpoch: (log) => {
    const c = process.cpuUsage(last);
    last = process.cpuUsage();
    epochs.push(
      `${log.epoch}: ${((c.user + c.system) / 1e6).toFixed(2)} s, val loss ${log.valLoss!.toFixed(3)}`,
    );
  },
});
const total = process.cpuUsage(started);
const held = take(split.held);
const acc = lossAndAccuracy(baseline.predict(held.images), held.y).acc;
console.log(epochs.join('\n'));
console.log(
  `split ${which}: ${fold.y.length} training images at ${baseline.preprocess.width} px (input reduced: ${reduceInput ?? 'default'}), ${baseline.history.epochs.length} epochs ` +
    `(best ${baseline.history.bestEpoch}, stopped early: ${baseline.history.stoppedEarly}), ` +
    `${((total.user + total.system) / 1e6).toFixed(1)} CPU s, held-out accuracy ${acc}`,
);
baseline.model.dispose();
