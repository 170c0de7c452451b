/**
 * Feature extraction as the unit of scale-out: three `edgetune features --shard k/3` processes
 * (each with its own empty local cache, like pods) upload to an S3 server on 127.0.0.1; then
 * `edgetune train --store` with no local cache computes no feature, decodes no image for
 * features, and exports the same model as an unsharded run.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../../shared/store/node/open.ts';
import { CLI_BIN } from '../cli-helper.ts';
import { removeTempDirs, tempDir } from '../datasets/fixtures.ts';
import { type RunningS3, startS3rver } from '../store/s3rver.ts';
import { pngFolder, quickBackbone } from './scale-fixtures.ts';

const PER_CLASS = 150;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], cacheDir: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI_BIN, ...args],
      {
        encoding: 'utf8',
        env: { ...process.env, EDGETUNE_STORE: '', EDGETUNE_CACHE_DIR: cacheDir },
        maxBuffer: 1 << 24,
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function json<T>(r: Run): T {
  expect(r.code, r.stderr.slice(-2000)).toBe(0);
  return JSON.parse(r.stdout) as T;
}

interface ShardJson {
  shard: string;
  images: number;
  shardImages: number;
  alreadyStored: number;
  computed: number;
  uploaded: number;
  decoded: number;
}

interface TrainJson {
  accuracy: number;
  features: { computed: number; cacheHits: number; fromStore?: number; decoded?: number };
  throughput: { images: number; decoded: number };
  files: { model: string };
}

describe('features --shard k/3 on S3, then train from the stored features', () => {
  let s3: RunningS3;
  let backbone: string;
  let root: string;
  let data: string;
  beforeAll(async () => {
    [s3, backbone] = await Promise.all([startS3rver(), quickBackbone()]);
    root = tempDir('shards');
    data = await pngFolder(path.join(root, 'data'), PER_CLASS, 64);
  }, 300_000);
  afterAll(async () => {
    await s3?.close();
    removeTempDirs();
  });

  const cacheDir = (name: string) => {
    const dir = path.join(root, 'cache', name);
    fs.mkdirSync(dir, { recursive: true });
    return dir;
  };
  const trainArgs = (out: string) => [
    'train',
    '--backbone',
    backbone,
    '--data',
    `folder:${data}`,
    '--name',
    'sharded',
    '--epochs',
    '20',
    // Feature sharding is under test: the plain transfer configuration, pinned.
    '--select',
    'transfer',
    '--out',
    out,
    '--json',
  ];

  it('decodes every image once in total and trains the same model', async () => {
    const store = s3.url('team');
    const unsharded = json<TrainJson>(await cli(trainArgs(path.join(root, 'out-local')), cacheDir('local')));
    expect(unsharded.features.computed).toBe(2 * PER_CLASS);

    const shards = (
      await Promise.all(
        [0, 1, 2].map((k) =>
          cli(
            [
              'features',
              '--backbone',
              backbone,
              '--data',
              `folder:${data}`,
              '--shard',
              `${k}/3`,
              '--store',
              store,
              '--json',
            ],
            cacheDir(`pod-${k}`),
          ),
        ),
      )
    ).map((r) => json<ShardJson>(r));
    const total = 2 * PER_CLASS;
    for (const s of shards) {
      expect(s.images).toBe(total);
      expect(s.alreadyStored).toBe(0);
      expect(s.computed).toBe(s.shardImages);
      expect(s.decoded).toBe(s.shardImages);
      expect(s.uploaded).toBe(s.shardImages);
      // Three similar shards: content hashes spread the images.
      expect(s.shardImages).toBeGreaterThan(total / 6);
    }
    expect(shards.reduce((n, s) => n + s.decoded, 0)).toBe(total);

    // The shards wrote only under the training side's features/ prefix.
    const keys = (await openStore(store).list('')).objects.map((o) => o.key);
    expect(keys).toHaveLength(total);
    expect(keys.every((k) => /^features\/[0-9a-f]{32}\/[0-9a-f]{2}\/[0-9a-f]{64}\.f32$/.test(k))).toBe(true);

    const fromStore = json<TrainJson>(
      await cli([...trainArgs(path.join(root, 'out-store')), '--store', store], cacheDir('trainer')),
    );
    expect(fromStore.features.computed).toBe(0);
    expect(fromStore.features.fromStore).toBe(total);
    expect(fromStore.throughput.decoded).toBe(0);
    expect(fromStore.accuracy).toBe(unsharded.accuracy);
    expect(fs.readFileSync(fromStore.files.model).equals(fs.readFileSync(unsharded.files.model))).toBe(true);

    // A shard run again (a retried pod) finds everything stored: it decodes and uploads nothing.
    const again = json<ShardJson>(
      await cli(
        [
          'features',
          '--backbone',
          backbone,
          '--data',
          `folder:${data}`,
          '--shard',
          '1/3',
          '--store',
          store,
          '--json',
        ],
        cacheDir('pod-retry'),
      ),
    );
    expect(again.alreadyStored).toBe(again.shardImages);
    expect(again.decoded).toBe(0);
    expect(again.uploaded).toBe(0);
  }, 900_000);

  it('refuses a shard outside 0..N-1 in one line', async () => {
    const r = await cli(
      [
        'features',
        '--backbone',
        backbone,
        '--data',
        `folder:${data}`,
        '--shard',
        '3/3',
        '--store',
        s3.url('x'),
      ],
      cacheDir('bad'),
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(/--shard must be i\/N with 0 ≤ i < N/);
  }, 120_000);
});
