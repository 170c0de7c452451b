/**
 * A retraining job merges a listed (streamed) base folder with feedback pictures held in memory.
 * Merging must keep the base lazy (no picture decoded, none held), and feature extraction must
 * take both kinds in one call: files through the decode pool, in-memory pictures directly, each
 * giving the same activations the shared preprocessing gives.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GraphBuilder, int } from '../../../shared/onnx/builder.ts';
import { decodeCounters } from '../../../training/datasets/decode-counters.ts';
import { imageId } from '../../../training/datasets/load.ts';
import { decodeImageBytes } from '../../../training/datasets/sources/common.ts';
import { listDataset } from '../../../training/datasets/stream.ts';
import { extractFeatures } from '../../../training/features/extract.ts';
import { combineDataset } from '../../../training/jobs/feedback-data.ts';
import { features, LABELS, makeSamples, SPEC } from '../jobs/tiny-task.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'edgetune-mixed-extract-'));
  dirs.push(d);
  return d;
}

/** The 16 pixels of the tiny task as the "boundary" activations. */
function flattenPrefix(): Uint8Array {
  const g = new GraphBuilder({ name: 'flatten-prefix', producer: 'edgetune-tests' });
  g.input('image', ['N', 1, SPEC.height, SPEC.width]);
  g.node('Flatten', ['image'], ['embedding'], { axis: int(1) });
  g.output('embedding', ['N', SPEC.height * SPEC.width]);
  return g.toBytes();
}

describe('a listed base merged with in-memory feedback', () => {
  it('stays lazy when merged and is extracted in one call, files and pictures alike', async () => {
    const root = tempDir();
    const baseSamples = makeSamples(41, 6);
    baseSamples.forEach((s, i) => {
      fs.mkdirSync(path.join(root, 'data', s.label), { recursive: true });
      fs.writeFileSync(path.join(root, 'data', s.label, `${i}.png`), s.png);
    });
    const base = await listDataset(`folder:${path.join(root, 'data')}`, { seed: 3 });
    expect(base.samples).toHaveLength(6);

    const feedbackSamples = makeSamples(42, 2);
    const feedback = feedbackSamples.map((s, i) => {
      const image = decodeImageBytes(`fb${i}.png`, s.png);
      return { id: imageId(image), label: s.label, image, source: `feedback/${i}` };
    });

    const decodedBefore = decodeCounters.images;
    const merged = combineDataset('base', 'base + feedback', LABELS, { base, feedback });
    expect(decodeCounters.images).toBe(decodedBefore);
    expect(merged.samples).toHaveLength(8);
    expect(merged.samples.filter((s) => s.file !== undefined)).toHaveLength(6);
    // Relabelled against the merged labels, still backed by the same file.
    for (const [i, s] of base.samples.entries()) {
      expect(merged.samples[i]!.file).toEqual(s.file);
      expect(LABELS[merged.samples[i]!.label]).toBe(base.labels[s.label]);
    }

    const bytes = flattenPrefix();
    const extracted = await extractFeatures(
      {
        bytes: () => bytes,
        backboneSha256: 'mixed-extract-test',
        boundary: 'embedding',
        itemDims: [SPEC.height * SPEC.width],
        preprocess: SPEC,
      },
      merged.samples,
      { cacheDir: path.join(root, 'cache') },
    );
    expect(extracted.stats.computed).toBe(8);
    // Only the six files went through the decode pool.
    expect(extracted.stats.decoded).toBe(6);

    const item = SPEC.height * SPEC.width;
    const expected = [
      ...base.samples.map((s) => features(fs.readFileSync(s.file!.path))),
      ...feedbackSamples.map((s) => features(s.png)),
    ];
    expected.forEach((want, row) => {
      const got = extracted.data.subarray(row * item, (row + 1) * item);
      for (let k = 0; k < item; k++) expect(got[k]).toBeCloseTo(want[k]!, 6);
    });
  }, 60_000);
});
