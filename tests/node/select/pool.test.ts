/**
 * The search's worker threads change when splits are trained, never what is trained or decided:
 * on a small digits task (the demo's quick mnist backbone, with re-trained layers and the scratch
 * CNN) a search with two worker threads gives the table a search on the main thread gives — every
 * configuration's per-split accuracies, what racing stopped, the pick.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeTargetFor } from '../../../shared/preprocess/preprocess.ts';
import { loadDataset, splitDataset } from '../../../training/datasets/index.ts';
import { type KnownScores, knownScores } from '../../../training/select/replay.ts';
import {
  FIRST_SPLITS,
  type SearchOptions,
  type Selection,
  searchConfigurations,
} from '../../../training/select/search.ts';
import { runSplitJob } from '../../../training/select/split-jobs.ts';
import {
  SELECT_TIMELINE_ENV,
  SELECT_WORKERS_ENV,
  selectWorkers,
  type TimelineEntry,
} from '../../../training/select/split-pool.ts';
import { initTf } from '../../../training/tf/backend.ts';
import { resolveBackbone } from '../../../training/train/backbone.ts';
import { tmpDir } from '../train/fixtures.ts';
import { quickBackbone } from '../train/scale-fixtures.ts';

describe('--select auto on worker threads', () => {
  let options: Omit<SearchOptions, 'workers' | 'cacheDir'>;
  let sequential: Selection;
  const run = async (workers: number, known?: KnownScores) => {
    const cacheDir = tmpDir(`select-pool-${workers}`);
    try {
      return await searchConfigurations({ ...options, workers, cacheDir, known });
    } finally {
      fs.rmSync(cacheDir, { recursive: true, force: true });
    }
  };
  const table = (s: Selection) =>
    s.rows.map((r) => ({
      id: r.id,
      folds: r.folds,
      heldLoss: r.heldLoss,
      heldBrier: r.heldBrier,
      skipped: r.skipped,
    }));
  beforeAll(async () => {
    await initTf({ backend: 'wasm' });
    const file = await quickBackbone();
    const backbone = await resolveBackbone(file);
    const ds = await loadDataset('opencv-digits:classes=0-5:per-class=4', {
      seed: 3,
      cwd: process.cwd(),
      ...decodeTargetFor(backbone.preprocess),
    });
    const { train, val } = splitDataset(ds, { valFraction: 0.2, seed: 3 });
    options = {
      backbone,
      train: train.samples,
      val: val.samples,
      classes: ds.labels.length,
      seed: 3,
      valFraction: 0.2,
      hyper: { epochs: 20, fineTuneEpochs: 3 },
      budgetSeconds: 3600,
      scratch: true,
      scratchShape: { side: 28, channels: 1 },
    };
  }, 900_000);

  it('two worker threads give the sequential search’s table', async () => {
    sequential = await run(1);
    const timeline = path.join(tmpDir('select-pool-timeline'), 'timeline.json');
    process.env[SELECT_TIMELINE_ENV] = timeline;
    let pooled: Selection;
    try {
      pooled = await run(2);
    } finally {
      delete process.env[SELECT_TIMELINE_ENV];
    }
    // The heads' splits after the first min(k, FIRST_SPLITS) ran on the workers too (keys are
    // "<row>:<split>"), so the equal tables below cover them.
    const first = Math.min(pooled.k, FIRST_SPLITS);
    const onPool = (JSON.parse(fs.readFileSync(timeline, 'utf8')) as TimelineEntry[]).map((e) => e.key);
    const heads = pooled.rows.flatMap((r, i) => (r.kind === 'transfer' && r.trainable === 0 ? [i] : []));
    expect(heads).toHaveLength(9);
    for (const i of heads) {
      for (let split = first; split < pooled.rows[i]!.folds.length; split++)
        expect(onPool).toContain(`${i}:${split}`);
      expect(onPool).not.toContain(`${i}:0`);
    }
    expect(pooled.rows[heads[0]!]!.folds.length).toBeGreaterThan(first);
    // The pool trained something: re-trained layers and the scratch CNN were scored.
    const expensive = sequential.rows.filter((r) => r.kind === 'scratch' || r.trainable > 0);
    expect(expensive.map((r) => r.id)).toEqual([
      'fine-tune 1 · linear',
      'fine-tune 2 · linear',
      'scratch CNN',
    ]);
    for (const r of expensive) expect(r.folds.length).toBeGreaterThanOrEqual(2);
    expect(table(pooled)).toEqual(table(sequential));
    expect(pooled.skipped).toEqual(sequential.skipped);
    expect(pooled.winner).toEqual(sequential.winner);
    for (const r of pooled.rows)
      expect(r.estimate).toBe(sequential.rows.find((s) => s.id === r.id)!.estimate);
  }, 1_800_000);

  it('a replay of the recorded search trains only the splits the recording lacks, and decides the same', async () => {
    const scratch = sequential.rows.find((r) => r.kind === 'scratch')!;
    // The recording without the scratch CNN's last split: that one split is trained again.
    const recording = sequential.rows.map((r) => ({
      id: r.id,
      folds: r === scratch ? r.folds.slice(0, -1) : r.folds,
      heldLoss: r.heldLoss,
      heldBrier: r.heldBrier,
      heldLogProbs: r.heldLogProbs,
    }));
    const replayed = await run(2, knownScores(recording));
    // The log-probabilities came with the splits, so the pick compared the same scaled losses.
    expect(replayed.scaledLoss).toBe(true);
    expect(table(replayed)).toEqual(table(sequential));
    expect(replayed.winner).toEqual(sequential.winner);
    expect(replayed.skipped).toEqual(sequential.skipped);
    // Split seconds are counted only for splits trained on the pool: the re-trained layers took
    // their splits from the recording, the scratch CNN trained one.
    for (const r of replayed.rows.filter((r) => r.trainable > 0)) expect(r.seconds).toBe(0);
    expect(replayed.rows.find((r) => r.kind === 'scratch')!.seconds).toBeGreaterThan(0);
  }, 1_800_000);

  it('a recorded split is taken only with its held-out scores (older recordings train it again)', () => {
    const known = knownScores([
      { id: 'a', folds: [1, 0.5], heldLoss: [0.1, 0.9], heldBrier: [0.05, 0.6] },
      { id: 'b', folds: [1, 0.5] },
    ]);
    expect(known.split('a', 1)).toEqual({ accuracy: 0.5, loss: 0.9, brier: 0.6 });
    expect(known.split('a', 2)).toBeUndefined();
    expect(known.split('b', 0)).toBeUndefined();
    // With its log-probabilities, a split brings them along (the pick scales them).
    const withLogProbs = knownScores([
      { id: 'a', folds: [1], heldLoss: [0.1], heldBrier: [0.05], heldLogProbs: [[-0.1, -2.4]] },
    ]);
    expect(withLogProbs.split('a', 0)).toEqual({
      accuracy: 1,
      loss: 0.1,
      brier: 0.05,
      logProbs: [-0.1, -2.4],
    });
  });

  it('a split whose flag is set (racing dropped it) stops at the end of an epoch, unread', async () => {
    const samples = [...options.train, ...options.val];
    const cancelled = new Int32Array(new SharedArrayBuffer(4));
    Atomics.store(cancelled, 0, 1);
    const r = await runSplitJob({
      kind: 'scratch',
      images: samples.map((s) => s.image),
      shape: { ...options.scratchShape, batchSize: 32 },
      y: Int32Array.from(samples, (s) => s.label),
      classes: options.classes,
      rows: {
        train: samples.map((_, i) => i).slice(0, 16),
        val: samples.map((_, i) => i).slice(16, 20),
        predict: samples.map((_, i) => i).slice(20),
      },
      seed: 3,
      cancelled,
    });
    expect(r).toMatchObject({ cancelled: true });
    expect('probs' in r).toBe(false);
  }, 300_000);

  it('the pool size: the option, else the env, else min(2, cores); a bad value is refused', () => {
    const before = process.env[SELECT_WORKERS_ENV];
    try {
      delete process.env[SELECT_WORKERS_ENV];
      expect(selectWorkers()).toBe(Math.min(2, os.availableParallelism()));
      process.env[SELECT_WORKERS_ENV] = '1';
      expect(selectWorkers()).toBe(1);
      expect(selectWorkers(3)).toBe(3);
      process.env[SELECT_WORKERS_ENV] = 'two';
      expect(() => selectWorkers()).toThrow(`${SELECT_WORKERS_ENV} must be a whole number ≥ 1, got 'two'`);
      expect(() => selectWorkers(0)).toThrow("workers must be a whole number ≥ 1, got '0'");
    } finally {
      if (before === undefined) delete process.env[SELECT_WORKERS_ENV];
      else process.env[SELECT_WORKERS_ENV] = before;
    }
  });
});
