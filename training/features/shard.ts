/**
 * `edgetune features --shard i/N`: one shard of a dataset's frozen-prefix activations, computed
 * and uploaded to an object store's feature cache (store-cache.ts), the unit of scale-out for a
 * Kubernetes Indexed Job. Images are assigned to shards by their content hash, so the shards of
 * any N are disjoint and cover the dataset whatever order the files are listed in; images the
 * store already has are skipped, so a shard can be re-run or resumed after a failure.
 */
import { EdgetuneError } from '../../shared/errors.ts';
import type { ObjectStore } from '../../shared/store/types.ts';
import type { InputOptions } from '../backbones/input-options.ts';
import { loadDataset } from '../datasets/load.ts';
import { isStreamable, listDataset } from '../datasets/stream.ts';
import type { Sample } from '../datasets/types.ts';
import { decodeTargetFor } from '../../shared/preprocess/preprocess.ts';
import { resolveBackbone } from '../train/backbone.ts';
import { planFreeze, type TrainableRequest } from '../train/plan.ts';
import { type Progress, silentProgress } from '../train/progress.ts';
import { peakRssMb } from '../train/throughput.ts';
import { FeatureCache } from './cache.ts';
import { extractFeatures } from './extract.ts';
import { frozenPrefix } from './prefix.ts';
import type { Device } from './session.ts';
import { storedFeatureIds, uploadFeatures } from './store-cache.ts';

/** Images computed and uploaded per step (a session and a decode pool each). */
const UPLOAD_CHUNK = 1024;

export interface Shard {
  index: number;
  count: number;
}

/** "i/N" with 0 ≤ i < N. */
export function parseShard(text: string): Shard {
  const m = /^(\d{1,6})\/(\d{1,6})$/.exec(text.trim());
  const index = m ? Number(m[1]) : Number.NaN;
  const count = m ? Number(m[2]) : Number.NaN;
  if (!(count >= 1 && index >= 0 && index < count)) {
    throw new EdgetuneError(
      'bad_request',
      `--shard must be i/N with 0 ≤ i < N (e.g. 0/3), got ${JSON.stringify(text)}`,
    );
  }
  return { index, count };
}

/** The shard an image belongs to: its sha256 id's first 48 bits modulo N. */
export function shardOf(id: string, count: number): number {
  return Number.parseInt(id.slice(0, 12), 16) % count;
}

export interface FeatureShardOptions {
  backbone: string;
  data: string;
  shard: Shard;
  store: ObjectStore;
  input?: InputOptions;
  featureLayer?: string;
  trainable?: TrainableRequest;
  /** Must match the training run's seed when the spec selects (per-class=, skip-per-class=). */
  seed?: number;
  cwd?: string;
  cacheDir: string;
  device?: Device;
  batchSize?: number;
  progress?: Progress;
}

export interface FeatureShardResult {
  shard: string;
  /** Where the activations are: `<store>/features/<cache key>/`. */
  prefix: string;
  /** Images in the dataset, and in this shard (distinct ids). */
  images: number;
  shardImages: number;
  /** Shard images the store had before this run (skipped). */
  alreadyStored: number;
  /** Activations taken from the local cache, and computed by running the prefix. */
  localCacheHits: number;
  computed: number;
  uploaded: number;
  /** Image files decoded by this process. */
  decoded: number;
  seconds: { list: number; features: number; upload: number; total: number };
  /** Computed images per second of list + features time. */
  imagesPerSecond: number;
  peakRssMb: number;
}

export async function runFeatureShard(o: FeatureShardOptions): Promise<FeatureShardResult> {
  const t0 = performance.now();
  const progress = o.progress ?? silentProgress;
  const cwd = o.cwd ?? process.cwd();
  const backbone = await resolveBackbone(o.backbone, progress.log, o.input);
  const plan = await planFreeze(backbone, o.featureLayer, o.trainable ?? 0);
  const prefix = frozenPrefix(backbone, plan);
  const itemSize = plan.boundaryDims.reduce((a, b) => a * b, 1);
  const cache = new FeatureCache(o.cacheDir, {
    backboneSha256: prefix.backboneSha256,
    boundary: prefix.boundary,
    preprocess: prefix.preprocess,
    itemSize,
  });

  let mark = performance.now();
  const load = { seed: o.seed ?? 1, cwd, ...decodeTargetFor(backbone.preprocess), log: progress.log };
  const data = isStreamable(o.data) ? await listDataset(o.data, load) : await loadDataset(o.data, load);
  const unique = new Map<string, Sample>();
  for (const s of data.samples) if (!unique.has(s.id)) unique.set(s.id, s);
  const mine = [...unique.values()].filter((s) => shardOf(s.id, o.shard.count) === o.shard.index);
  const stored = await storedFeatureIds(o.store, cache);
  const todo = mine.filter((s) => !stored.has(s.id));
  const listSeconds = (performance.now() - mark) / 1000;
  progress.log(
    `shard ${o.shard.index}/${o.shard.count}: ${mine.length} of ${unique.size} images, ` +
      `${mine.length - todo.length} already in ${o.store.url}`,
  );

  // In chunks, each uploaded before the next starts: a pod that dies keeps what it uploaded.
  let featureSeconds = 0;
  let uploadSeconds = 0;
  const totals = { cacheHits: 0, computed: 0, decoded: 0 };
  for (let from = 0; from < todo.length; from += UPLOAD_CHUNK) {
    const chunk = todo.slice(from, from + UPLOAD_CHUNK);
    mark = performance.now();
    const extracted = await extractFeatures(prefix, chunk, {
      cacheDir: o.cacheDir,
      device: o.device,
      progress,
      label: `shard ${o.shard.index}/${o.shard.count}`,
      batchSize: o.batchSize,
      inMemory: false,
    });
    featureSeconds += (performance.now() - mark) / 1000;
    totals.cacheHits += extracted.stats.cacheHits;
    totals.computed += extracted.stats.computed;
    totals.decoded += extracted.stats.decoded ?? 0;
    mark = performance.now();
    await uploadFeatures(
      o.store,
      cache,
      chunk.map((s) => s.id),
    );
    uploadSeconds += (performance.now() - mark) / 1000;
  }
  const round = (x: number) => Number(x.toFixed(3));
  return {
    shard: `${o.shard.index}/${o.shard.count}`,
    prefix: `${o.store.url.replace(/\/$/, '')}/features/${cache.key}/`,
    images: unique.size,
    shardImages: mine.length,
    alreadyStored: mine.length - todo.length,
    localCacheHits: totals.cacheHits,
    computed: totals.computed,
    uploaded: todo.length,
    decoded: totals.decoded,
    seconds: {
      list: round(listSeconds),
      features: round(featureSeconds),
      upload: round(uploadSeconds),
      total: round((performance.now() - t0) / 1000),
    },
    imagesPerSecond: Number((totals.computed / Math.max(listSeconds + featureSeconds, 1e-3)).toFixed(1)),
    peakRssMb: peakRssMb(),
  };
}
