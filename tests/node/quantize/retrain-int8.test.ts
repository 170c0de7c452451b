/**
 * `train --quantize int8` is part of the training recipe: the retraining worker (the real
 * pipeline: recipe → base data + feedback → runTraining → publish) gives the retrained version
 * its own int8 variant, through the same accuracy gate with the same --max-accuracy-drop, on the
 * retraining holdout, stored beside it with its checksum.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { encode } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { saveFeedback } from '../../../shared/feedback/store.ts';
import { createJob } from '../../../shared/jobs/ledger.ts';
import { requireManifest } from '../../../shared/registry/versions.ts';
import { readRouting } from '../../../shared/routing/operations.ts';
import { keys } from '../../../shared/store/keys.ts';
import { FileStore } from '../../../shared/store/node/file.ts';
import { loadDataset } from '../../../training/datasets/index.ts';
import { resolveDevice } from '../../../training/device.ts';
import { createRetrain } from '../../../training/jobs/retrain.ts';
import { runWorkerOnce } from '../../../training/jobs/runner.ts';
import { readRecipe } from '../../../training/train/recipe.ts';
import { runTraining } from '../../../training/train/run.ts';
import { mnistBackbone, tmpDir } from '../train/fixtures.ts';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('retraining a version trained with --quantize int8', () => {
  it('the retrained version gets its own int8 variant through the same gate', async () => {
    const dir = tmpDir('int8-retrain');
    const store = new FileStore(path.join(dir, 'store'));
    const cacheDir = tmpDir('int8-retrain-features');
    const testData = 'opencv-digits:skip-per-class=20:per-class=20';
    const v1 = await runTraining({
      backbone: await mnistBackbone('all'),
      data: 'opencv-digits:per-class=20',
      testData,
      name: 'digits',
      seed: 3,
      out: path.join(dir, 'export-v1'),
      quantize: 'int8',
      maxAccuracyDropPoints: 1.5,
      cacheDir,
      store: `file://${path.join(dir, 'store')}`,
    });
    expect(v1.version).toBe('v1');
    expect(v1.int8?.published).toBe(true);
    expect((await readRouting(store, 'digits'))?.doc.stable).toBe('v1');
    expect((await readRecipe(store, 'digits', 'v1'))?.options).toMatchObject({
      quantize: 'int8',
      maxAccuracyDropPoints: 1.5,
    });

    // Trusted labelled feedback, then one retraining job run by the real worker pipeline.
    const fb = await loadDataset('opencv-digits:skip-per-class=40:per-class=4', { seed: 3 });
    for (const s of fb.samples) {
      const { width, height, channels, data } = s.image;
      await saveFeedback(store, 'digits', {
        image: encode({ width, height, channels, data, depth: 8 }),
        label: fb.labels[s.label]!,
        knownLabel: true,
        trusted: true,
      });
    }
    await createJob(store, { model: 'digits', reason: 'test' });
    const lines: string[] = [];
    const run = await runWorkerOnce({
      store,
      retrain: createRetrain({ cacheDir }),
      device: resolveDevice('cpu'),
      worker: 'w1',
      leaseSeconds: 600,
      log: (l) => lines.push(l),
    });
    expect(run.error).toBeUndefined();
    const v2 = run.job!.outcome!.candidateVersion;
    expect(v2).toBe('v2');

    const manifest = await requireManifest(store, 'digits', v2);
    const variant = manifest.variants?.[0];
    expect(variant?.kind).toBe('int8');
    expect(variant!.published).toBe(true);
    expect(variant!.gate.maxAccuracyDropPoints).toBe(1.5);
    expect(variant!.gate.accuracyDropPoints).toBeLessThanOrEqual(1.5);
    expect(variant!.gate.top1Agreement).toBeGreaterThanOrEqual(0.99);
    // Gated on the retraining holdout: the base test set plus held-out feedback.
    expect(variant!.gate.samples).toBeGreaterThan(200);
    const stored = await store.get(keys.versionFile('digits', v2, variant!.file!));
    expect(stored).not.toBeNull();
    expect(sha256(stored!.body)).toBe(variant!.sha256);
    // The recipe carries on to the next retraining.
    expect((await readRecipe(store, 'digits', v2))?.options.quantize).toBe('int8');
  }, 900_000);
});
