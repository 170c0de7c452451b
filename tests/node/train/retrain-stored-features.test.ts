/**
 * The retraining worker takes its base's frozen-prefix activations from the store's feature
 * shards (`edgetune features --shard … --store`) the way `edgetune train --store` does: two
 * copies of one store (same published version, feedback and job), one with the base's shards
 * uploaded, each retrained by the real worker with an empty local feature cache. The one with
 * shards decodes no base image for features, and both publish the same candidate model.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveFeedback } from '../../../shared/feedback/store.ts';
import { createJob } from '../../../shared/jobs/ledger.ts';
import { requireManifest } from '../../../shared/registry/versions.ts';
import { keys } from '../../../shared/store/keys.ts';
import { FileStore } from '../../../shared/store/node/file.ts';
import { decodeCounters } from '../../../training/datasets/decode-counters.ts';
import { resolveDevice } from '../../../training/device.ts';
import type { FeatureStats } from '../../../training/features/extract.ts';
import { runFeatureShard } from '../../../training/features/shard.ts';
import { createRetrain } from '../../../training/jobs/retrain.ts';
import { runWorkerOnce } from '../../../training/jobs/runner.ts';
import { runTraining } from '../../../training/train/run.ts';
import { removeTempDirs, tempDir } from '../datasets/fixtures.ts';
import { pngFolder, quickBackbone } from './scale-fixtures.ts';

const PER_CLASS = 24;
const SIDE = 32;
const MODEL = 'scale';

/** Trusted feedback: new pictures of both classes (the same generator, other indices). */
async function feedbackPngs(dir: string): Promise<{ png: Uint8Array; label: string }[]> {
  await pngFolder(dir, 30, SIDE);
  const out: { png: Uint8Array; label: string }[] = [];
  for (const label of ['dark', 'light']) {
    const files = fs.readdirSync(path.join(dir, label)).sort().slice(-6);
    for (const f of files)
      out.push({ png: new Uint8Array(fs.readFileSync(path.join(dir, label, f))), label });
  }
  return out;
}

interface Retrained {
  features: FeatureStats;
  decoded: number;
  model: Buffer;
}

async function retrainOnce(storeDir: string, cacheDir: string): Promise<Retrained> {
  const store = new FileStore(storeDir);
  const before = decodeCounters.images;
  const lines: string[] = [];
  const run = await runWorkerOnce({
    store,
    retrain: createRetrain({ cacheDir, holdoutFraction: 0.5 }),
    device: resolveDevice('cpu'),
    worker: 'w1',
    leaseSeconds: 600,
    log: (l) => lines.push(l),
  });
  expect(run.error, lines.join('\n')).toBeUndefined();
  const outcome = run.job!.outcome!;
  const manifest = await requireManifest(store, MODEL, outcome.candidateVersion!);
  const model = await store.get(keys.versionFile(MODEL, manifest.version, manifest.model.file));
  expect(model).not.toBeNull();
  return {
    features: (outcome.report as { features: FeatureStats }).features,
    decoded: decodeCounters.images - before,
    model: Buffer.from(model!.body),
  };
}

describe('the retraining worker on stored feature shards', () => {
  let root: string;
  let backbone: string;
  let data: string;
  beforeAll(async () => {
    root = tempDir('retrain-shards');
    backbone = await quickBackbone();
    data = await pngFolder(path.join(root, 'data'), PER_CLASS, SIDE);
  }, 300_000);
  afterAll(() => removeTempDirs());

  it('reads the base from the store, decodes none of it, and retrains the same model', async () => {
    const withShards = path.join(root, 'store-shards');
    const v1 = await runTraining({
      backbone,
      data: `folder:${data}`,
      name: MODEL,
      seed: 5,
      epochs: 10,
      out: path.join(root, 'export-v1'),
      cacheDir: path.join(root, 'cache-v1'),
      store: `file://${withShards}`,
    });
    expect(v1.version).toBe('v1');
    const store = new FileStore(withShards);
    for (const f of await feedbackPngs(path.join(root, 'feedback'))) {
      await saveFeedback(store, MODEL, { image: f.png, label: f.label, knownLabel: true, trusted: true });
    }
    await createJob(store, { model: MODEL, reason: 'test' });
    // The same store without shards: copied before any feature is uploaded.
    const plain = path.join(root, 'store-plain');
    fs.cpSync(withShards, plain, { recursive: true });

    // One shard job over the whole base (the Indexed Job's pods, here one process).
    const shard = await runFeatureShard({
      backbone,
      data: `folder:${data}`,
      shard: { index: 0, count: 1 },
      store,
      seed: 5,
      cacheDir: path.join(root, 'cache-pod'),
    });
    expect(shard.uploaded).toBe(2 * PER_CLASS);

    const computed = await retrainOnce(plain, path.join(root, 'cache-plain'));
    const fromStore = await retrainOnce(withShards, path.join(root, 'cache-shards'));

    // Without shards every base file is decoded for its features; with them, none is.
    expect(computed.features.decoded).toBe(2 * PER_CLASS);
    expect(computed.features.fromStore).toBe(0);
    expect(fromStore.features.fromStore).toBe(2 * PER_CLASS);
    expect(fromStore.features.decoded ?? 0).toBe(0);
    // Only feedback pictures (held in memory, not files) went through the prefix.
    expect(fromStore.features.computed).toBe(computed.features.computed - 2 * PER_CLASS);
    expect(fromStore.features.computed).toBeGreaterThan(0);
    // Everything else the job decodes (the parity gate's validation images) is the same.
    expect(computed.decoded - fromStore.decoded).toBe(2 * PER_CLASS);
    expect(fromStore.model.equals(computed.model)).toBe(true);
  }, 900_000);
});
