/**
 * Streamed datasets keep memory bounded by the batch, not the dataset: `edgetune train` on a
 * folder of 256×256 PNGs (196 kB each when decoded; the backbone wants 28×28) at two sizes,
 * with an empty feature cache so every image is decoded. The child's own peak RSS (getrusage,
 * reported in --json) stays under one fixed bound at both sizes, and 4× the images adds less
 * than a third of what holding the decoded pictures would (1,500 more × 196 kB ≈ 295 MB).
 * A third, not a tenth: the garbage collector's timing alone moved the difference between
 * 20 and 52 MB from one run to the next on the same tree, while a leak of decoded pixels adds
 * the whole 295 MB.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs, tempDir } from '../datasets/fixtures.ts';
import { CLI_BIN } from '../cli-helper.ts';
import { execFile } from 'node:child_process';
import { pngFolder, quickBackbone } from './scale-fixtures.ts';

const BOUND_MB = 700;
const SIDE = 256;
/** A third of the 295 MB that holding 1,500 more decoded 256×256 pictures would take. */
const GROWTH_LIMIT_MB = 98;

interface TrainJson {
  counts: { train: number; val: number };
  features: { computed: number; decoded?: number };
  throughput: { images: number; decoded: number; peakRssMb: number; streamed: boolean };
}

function train(backbone: string, data: string, cacheDir: string, out: string): Promise<TrainJson> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [
        CLI_BIN,
        'train',
        '--backbone',
        backbone,
        '--data',
        `folder:${data}`,
        '--name',
        'scale',
        '--epochs',
        '2',
        // Memory is under test: the plain transfer configuration, pinned.
        '--select',
        'transfer',
        '--out',
        out,
        '--json',
      ],
      {
        encoding: 'utf8',
        env: { ...process.env, EDGETUNE_STORE: '', EDGETUNE_CACHE_DIR: cacheDir },
        maxBuffer: 1 << 24,
      },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`train failed: ${stderr.slice(-2000)}`));
        else resolve(JSON.parse(stdout) as TrainJson);
      },
    );
  });
}

describe('streamed training data: peak memory does not grow with the dataset', () => {
  let backbone: string;
  beforeAll(async () => {
    backbone = await quickBackbone();
  }, 300_000);
  afterAll(removeTempDirs);

  it('500 and 2,000 PNGs of 256×256 stay under one bound', async () => {
    const runs: TrainJson[] = [];
    for (const perClass of [250, 1000]) {
      const root = tempDir('stream-memory');
      const data = await pngFolder(path.join(root, 'data'), perClass, SIDE);
      const cache = path.join(root, 'cache');
      fs.mkdirSync(cache);
      const r = await train(backbone, data, cache, path.join(root, 'out'));
      expect(r.throughput.streamed).toBe(true);
      expect(r.throughput.images).toBe(2 * perClass);
      // Every image went through the decoder once: nothing came from a cache.
      expect(r.features.computed).toBe(2 * perClass);
      expect(r.throughput.decoded).toBe(2 * perClass);
      expect(r.throughput.peakRssMb).toBeLessThan(BOUND_MB);
      runs.push(r);
    }
    const [small, large] = runs as [TrainJson, TrainJson];
    console.log(
      `peak RSS: ${small.throughput.peakRssMb} MB (500 images), ${large.throughput.peakRssMb} MB (2,000 images)`,
    );
    expect(large.throughput.peakRssMb - small.throughput.peakRssMb).toBeLessThan(GROWTH_LIMIT_MB);
  }, 600_000);
});
