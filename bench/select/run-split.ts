/**
 * A bench task's data as `runTraining` splits it for a seed, for the scripts that fit
 * configurations alone, without a search (all-labelled.ts, linear-noise.ts, export-check.ts):
 * one sample list — training split, validation split, test set — and the rows of each in it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Sample } from '../../training/datasets/types.ts';
import { defaultFeatureCacheDir } from '../../training/features/cache.ts';
import { earlierCutPoints } from '../../training/select/candidates.ts';
import { candidateInputs } from '../../training/select/inputs.ts';
import { silentProgress } from '../../training/train/progress.ts';
import { createStageContext } from '../../training/train/stages/context.ts';
import { prepareInputs, type TrainInputs } from '../../training/train/stages/inputs.ts';

export interface RunSplit {
  inputs: TrainInputs;
  samples: Sample[];
  /** Labels of `samples`. */
  y: Int32Array;
  train: number[];
  val: number[];
  test: number[];
}

const range = (from: number, n: number) => Array.from({ length: n }, (_, j) => from + j);

export async function runSplit(
  task: { data: string; testData: string },
  backbone: string,
  seed: number,
  name: string,
): Promise<RunSplit> {
  // Only the inputs are read: the run's output folder is removed once they are prepared.
  const out = fs.mkdtempSync(path.join(os.tmpdir(), `edgetune-${name}-`));
  const ctx = createStageContext({
    backbone,
    data: task.data,
    testData: task.testData,
    name,
    seed,
    backend: 'wasm',
    out,
  });
  const inputs = await prepareInputs(ctx).finally(() => fs.rmSync(out, { recursive: true, force: true }));
  const nTrain = inputs.train.samples.length;
  const nVal = inputs.val.samples.length;
  return {
    inputs,
    samples: [...inputs.train.samples, ...inputs.val.samples, ...inputs.test!.samples],
    y: Int32Array.from([...inputs.yTrain, ...inputs.yVal, ...inputs.yHeld]),
    train: range(0, nTrain),
    val: range(nTrain, nVal),
    test: range(nTrain + nVal, inputs.test!.samples.length),
  };
}

/**
 * The backbone's feature layer and the search's earlier cut points, with every sample's pooled
 * activations at each (`cached.get('layer:<name>')`), from the feature cache when it has them.
 */
export async function cutPointFeatures(split: RunSplit) {
  const { backbone } = split.inputs;
  const feature = backbone.metadata.features[0]!.name;
  const layers = [feature, ...earlierCutPoints(backbone.model, feature)];
  const cached = await candidateInputs(
    { backbone, samples: split.samples, cacheDir: defaultFeatureCacheDir(), progress: silentProgress },
    layers,
    undefined,
    [],
  );
  return { layers, cached };
}
