/**
 * Fine-tuning (`--trainable 1`) on a streamed folder reads the boundary activations back from the
 * feature cache batch by batch instead of holding them in memory; it must train exactly what the
 * in-memory path trains on the same pictures (same decoder, split, shuffles and seeds).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../../../training/datasets/index.ts';
import { decodeTargetFor } from '../../../shared/preprocess/preprocess.ts';
import { resolveBackbone } from '../../../training/train/backbone.ts';
import { runTraining } from '../../../training/train/run.ts';
import { removeTempDirs, tempDir } from '../datasets/fixtures.ts';
import { pngFolder, quickBackbone } from './scale-fixtures.ts';

describe('fine-tuning on streamed data reads activations from disk', () => {
  let backbone: string;
  let root: string;
  let data: string;
  beforeAll(async () => {
    backbone = await quickBackbone();
    root = tempDir('from-disk');
    data = await pngFolder(path.join(root, 'data'), 24, 48);
  }, 300_000);
  afterAll(removeTempDirs);

  it('trains the same model as the in-memory path', async () => {
    const common = {
      backbone,
      name: 'fromdisk',
      trainable: 1,
      epochs: 3,
      fineTuneEpochs: 2,
      batchSize: 8,
      seed: 3,
      backend: 'wasm' as const,
    };
    const streamed = await runTraining({
      ...common,
      data: `folder:${data}`,
      out: path.join(root, 'out-disk'),
      cacheDir: path.join(root, 'cache-disk'),
    });
    expect(streamed.throughput?.streamed).toBe(true);
    expect(streamed.throughput?.activationsFromDisk).toBe(true);
    expect(streamed.features.decoded).toBe(48);

    const { preprocess } = await resolveBackbone(backbone, () => {});
    const inMemory = await runTraining({
      ...common,
      data: await loadDataset(`folder:${data}`, { seed: 3, ...decodeTargetFor(preprocess) }),
      out: path.join(root, 'out-memory'),
      cacheDir: path.join(root, 'cache-memory'),
    });
    expect(inMemory.throughput?.activationsFromDisk).toBe(false);
    expect(inMemory.plan.trainableConvs).toBe(1);
    expect(streamed.transfer.history.map((e) => e.loss)).toEqual(
      inMemory.transfer.history.map((e) => e.loss),
    );
    expect(fs.readFileSync(streamed.files.model).equals(fs.readFileSync(inMemory.files.model))).toBe(true);
  }, 600_000);
});
