/**
 * Why a refit on every labelled image decays its learning rate: the scratch CNN's test accuracy
 * fitted on the training split with early stopping (epoch e* kept), refitted on all labelled
 * images as shipped (fit/phases.ts), and refitted at the constant rate, epoch by epoch around e*.
 *
 *   EDGETUNE_CACHE_DIR=... node --import tsx bench/select/refit-trajectory.ts digits 1,2,3,4,5,6
 */
import { trainBaseline, scratchSide } from '../../training/fit/baseline.ts';
import { balancedClassWeights } from '../../training/fit/loop.ts';
import { REFIT_EPOCH_FACTOR } from '../../training/fit/phases.ts';
import { initTf } from '../../training/tf/backend.ts';
import { runSplit } from './run-split.ts';
import { tasks } from './tasks.ts';

const [taskName = 'digits', seedList = '1,2,3,4'] = process.argv.slice(2);
const task = tasks()[taskName]!;
await initTf({ backend: 'wasm' });
const backbone = await task.backbone();
for (const seed of seedList.split(',').map(Number)) {
  const s = await runSplit(task, backbone, seed, 'refit-traj');
  const img = (rows: number[]) => rows.map((r) => s.samples[r]!.image);
  const lab = (rows: number[]) => Int32Array.from(rows, (r) => s.y[r]!);
  const pre = s.inputs.backbone.preprocess;
  const side = scratchSide(Math.max(pre.width, pre.height), img([...s.train, ...s.val]));
  const base = { classes: s.inputs.classes, side, channels: pre.channels, seed, batchSize: 32 };
  const first = await trainBaseline({
    ...base,
    train: { images: img(s.train), y: lab(s.train) },
    val: { images: img(s.val), y: lab(s.val) },
    classWeights: balancedClassWeights(lab(s.train), s.inputs.classes),
  });
  const e = first.history.bestEpoch;
  const firstTest = first.predict(img(s.test));
  let hits = 0;
  const yT = lab(s.test);
  for (let i = 0; i < yT.length; i++) {
    const row = firstTest.subarray(i * s.inputs.classes, (i + 1) * s.inputs.classes);
    if (row.indexOf(Math.max(...row)) === yT[i]) hits++;
  }
  first.model.dispose();
  const all = [...s.train, ...s.val];
  const traj = await trainBaseline({
    ...base,
    train: { images: img(all), y: lab(all) },
    val: { images: img(s.test), y: yT },
    classWeights: balancedClassWeights(lab(all), s.inputs.classes),
    epochs: e + 10,
    patience: 1000,
  });
  traj.model.dispose();
  const accOf = (probs: Float32Array) => {
    let h = 0;
    for (let i = 0; i < yT.length; i++) {
      const row = probs.subarray(i * s.inputs.classes, (i + 1) * s.inputs.classes);
      if (row.indexOf(Math.max(...row)) === yT[i]) h++;
    }
    return ((h / yT.length) * 100).toFixed(1);
  };
  // The shipped refit: REFIT_EPOCH_FACTOR × e* epochs, the learning rate decayed over them.
  const decayed = await trainBaseline({
    ...base,
    train: { images: img(all), y: lab(all) },
    classWeights: balancedClassWeights(lab(all), s.inputs.classes),
    refit: { keptEpochs: e },
  });
  const decayedAcc = accOf(decayed.predict(img(s.test)));
  decayed.model.dispose();
  const acc = traj.history.epochs.map((h) => (h.valAcc! * 100).toFixed(0));
  const win = traj.history.epochs.slice(Math.max(0, e - 6), e + 5).map((h) => h.valAcc!);
  console.log(
    `${taskName}/${seed} e*=${e} first fit test ${((hits / yT.length) * 100).toFixed(1)} | decayed refit (${REFIT_EPOCH_FACTOR}e*) ${decayedAcc} | constant-rate refit at e* ${acc[e - 1]} mean e*±5 ${((win.reduce((a, b) => a + b, 0) / win.length) * 100).toFixed(1)} | refit epochs ${acc.slice(Math.max(0, e - 10)).join(' ')}`,
  );
}
