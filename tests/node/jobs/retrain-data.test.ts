/** The retrain step's data: a fixed feedback holdout, merged labels, no train/holdout overlap. */
import { rm } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { saveFeedback } from '../../../shared/feedback/store.ts';
import type { RawImage } from '../../../shared/preprocess/types.ts';
import { imageId } from '../../../training/datasets/load.ts';
import type { Dataset } from '../../../training/datasets/types.ts';
import {
  combineDataset,
  isHoldoutImage,
  loadFeedbackData,
  mergedLabels,
} from '../../../training/jobs/feedback-data.ts';
import { buildRecipe, TrainingRecipeSchema } from '../../../training/train/recipe.ts';
import { makeSamples, tempStore } from './tiny-task.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function grey(value: number): RawImage {
  return { width: 2, height: 2, channels: 1, data: new Uint8Array(4).fill(value) };
}

describe('feedback data for retraining', () => {
  it('holds out a fixed ~20% slice of trusted feedback by image hash, the same in every load', async () => {
    const t = await tempStore('edgetune-retrain-data-');
    dirs.push(t.dir);
    const samples = makeSamples(77, 200);
    for (const s of samples)
      await saveFeedback(t.store, 'tiny', { image: s.png, label: s.label, knownLabel: true, trusted: true });
    const a = await loadFeedbackData(t.store, 'tiny');
    const b = await loadFeedbackData(t.store, 'tiny');
    expect(a.records).toBe(200);
    expect(a.train.length + a.holdout.length).toBe(200);
    // Binomial(200, 0.2): 40 ± 5.7; 3 σ bounds.
    expect(a.holdout.length).toBeGreaterThan(22);
    expect(a.holdout.length).toBeLessThan(58);
    expect(b.holdout.map((s) => s.source)).toEqual(a.holdout.map((s) => s.source));
    // More feedback later never moves an old sample across the split.
    await saveFeedback(t.store, 'tiny', {
      image: makeSamples(78, 1)[0]!.png,
      label: 'left',
      knownLabel: true,
      trusted: true,
    });
    const c = await loadFeedbackData(t.store, 'tiny');
    const held = new Set(c.holdout.map((s) => s.source));
    for (const s of a.holdout) expect(held.has(s.source)).toBe(true);
    // Untrusted labels never judge: the same kind of images sent without trust all train.
    for (const s of makeSamples(79, 50))
      await saveFeedback(t.store, 'tiny', { image: s.png, label: s.label, knownLabel: true });
    const d = await loadFeedbackData(t.store, 'tiny');
    expect(d.holdout.map((s) => s.source)).toEqual(c.holdout.map((s) => s.source));
    expect(d.train.length).toBe(c.train.length + 50);
    // Decoded as dataset folders decode: grey stays 1 channel, ids are pixel hashes.
    expect(a.train[0]!.image.channels).toBe(1);
    expect(a.train[0]!.id).toBe(imageId(a.train[0]!.image));
  });

  it('isHoldoutImage follows the first 32 bits of the sha256', () => {
    expect(isHoldoutImage(`00000000${'f'.repeat(56)}`, 0.2)).toBe(true);
    expect(isHoldoutImage(`33333333${'0'.repeat(56)}`, 0.2)).toBe(true); // 0.19999…
    expect(isHoldoutImage(`33333334${'0'.repeat(56)}`, 0.2)).toBe(false);
    expect(isHoldoutImage(`00000000${'0'.repeat(56)}`, 0)).toBe(false);
  });

  it('merges labels (base order, then new ones sorted) and drops training images that are holdout images', () => {
    const base: Dataset = {
      name: 'base',
      spec: 'x',
      labels: ['cat', 'dog'],
      samples: [
        { id: imageId(grey(1)), label: 1, image: grey(1), source: 'b1' },
        { id: imageId(grey(2)), label: 0, image: grey(2), source: 'b2' },
      ],
      warnings: [],
    };
    const fb = [
      { id: imageId(grey(3)), label: 'owl', image: grey(3), source: 'f3' },
      { id: imageId(grey(4)), label: 'bat', image: grey(4), source: 'f4' },
      { id: imageId(grey(2)), label: 'cat', image: grey(2), source: 'f2' },
    ];
    const labels = mergedLabels(base.labels, fb);
    expect(labels).toEqual(['cat', 'dog', 'bat', 'owl']);
    const ds = combineDataset('m', 'spec', labels, { base, feedback: fb }, new Set([imageId(grey(2))]));
    expect(ds.samples.map((s) => [s.source, labels[s.label]])).toEqual([
      ['b1', 'dog'],
      ['f3', 'owl'],
      ['f4', 'bat'],
    ]);
  });

  it('a recipe round-trips through its schema with absolute paths', () => {
    const r = buildRecipe({
      backbone: 'nsfwjs:MobileNetV2',
      backboneSha256: null,
      data: 'folder:photos',
      testData: null,
      cwd: 'relative/dir',
      options: { seed: 3, head: { dropout: 0.2, hidden: 0 } },
    });
    expect(r.cwd.startsWith('/')).toBe(true);
    expect(TrainingRecipeSchema.parse(JSON.parse(JSON.stringify(r)))).toEqual(r);
    expect(() => TrainingRecipeSchema.parse({ ...r, options: { seed: 'x' } })).toThrow();
  });
});
