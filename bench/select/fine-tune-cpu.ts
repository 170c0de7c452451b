/**
 * CPU seconds of one fine-tuning configuration per cross-validation split — the search's own
 * `trainTransfer` on the `auto_select_seconds` task (10 labels × 10 classes, MobileNetV2), depths 1
 * and 2 on the plan's first splits — with the first probabilities of each split, so two trees run
 * side by side can be compared on a shared box (CPU time, not wall) and checked to train the
 * same models.
 *
 *   EDGETUNE_CACHE_DIR=… node --import tsx bench/select/fine-tune-cpu.ts [--splits 2]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadSearchTask } from './bench-task.ts';
import { lossAndAccuracy } from '../../training/fit/loop.ts';
import { trainTransfer } from '../../training/select/fit.ts';
import { candidateInputs, sharedKeras } from '../../training/select/inputs.ts';
import { SEARCH_DEPTHS } from '../../training/select/search.ts';
import { buildSpace } from '../../training/select/space.ts';
import { transferHyper } from '../../training/train/hyper.ts';
import { silentProgress } from '../../training/train/progress.ts';

const i = process.argv.indexOf('--splits');
const splits = i >= 0 ? Number(process.argv[i + 1]) : 2;
const { backbone, labelled, y, classes, plan } = await loadSearchTask();
const shared = sharedKeras(backbone);
const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgetune-bench-ft-cpu-'));
try {
  const feature = backbone.metadata.features[0]!.name;
  const inputs = await candidateInputs(
    { backbone: shared.backbone, samples: labelled, cacheDir, progress: silentProgress },
    [feature],
    undefined,
    SEARCH_DEPTHS,
  );
  const space = buildSpace({
    layers: [{ tensor: undefined, label: feature }],
    depths: SEARCH_DEPTHS,
    scratch: false,
  });
  let total = 0;
  for (const depth of SEARCH_DEPTHS) {
    const config = space.find((c) => c.trainable === depth)!;
    for (let s = 0; s < splits; s++) {
      const split = plan[s]!;
      const c0 = process.cpuUsage();
      const { probs } = await trainTransfer(
        config,
        inputs.get(`depth:${depth}`)!,
        y,
        classes,
        { train: split.train, val: split.val, predict: split.held },
        1,
        transferHyper({}, depth),
      );
      const c = process.cpuUsage(c0);
      const cpu = (c.user + c.system) / 1e6;
      total += cpu;
      const acc = lossAndAccuracy(
        probs,
        Int32Array.from(split.held, (r) => y[r]!),
      ).acc;
      const first = Array.from(probs.slice(0, 3), (v) => v.toFixed(6)).join(', ');
      console.log(
        `${config.id}, split ${s + 1}: ${cpu.toFixed(2)} CPU s, accuracy ${acc}, first probabilities ${first}`,
      );
    }
  }
  console.log(`total ${total.toFixed(2)} CPU s`);
} finally {
  shared.dispose();
  fs.rmSync(cacheDir, { recursive: true, force: true });
}
