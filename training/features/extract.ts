/**
 * Frozen-prefix activations for a list of samples: read from the on-disk cache where present,
 * otherwise run the prefix (cutAt(backbone, boundary)) in onnxruntime-node on the shared
 * preprocessing of the raw images, in batches, and cache the result.
 */
import type { PreprocessSpec } from '../../shared/manifest/preprocess.ts';
import { runImages } from '../../shared/preprocess/run-images.ts';
import type { RawImage } from '../../shared/preprocess/types.ts';
import { type Progress, silentProgress } from '../train/progress.ts';
import type { ObjectStore } from '../../shared/store/types.ts';
import type { ImageShape } from '../datasets/shape-warnings.ts';
import { FeatureCache } from './cache.ts';
import { createOrtNodeRunner, type OrtNodeRunner } from '../inference/ort-node-runner.ts';
import { type Device, fixedBatchOf } from './session.ts';
import { fetchStoredFeatures } from './store-cache.ts';
import { runStreamedPrefix, streamDecodePool } from './stream.ts';

export interface FeatureStats {
  /** Images whose activations came from the cache. */
  cacheHits: number;
  /** Images run through the prefix in onnxruntime. */
  computed: number;
  /** onnxruntime `run` calls on the prefix. */
  prefixRuns: number;
  seconds: number;
  /** Activations copied from the object store's feature cache (a subset of cacheHits). */
  fromStore?: number;
  /** Streamed samples: files decoded by the worker pool, and their summed worker time. */
  decoded?: number;
  decodeSeconds?: number;
  /** Wall time of the prefix runs. */
  prefixSeconds?: number;
  /** Shape of each decoded image (streamed samples only); not part of any output. */
  shapes?: ImageShape[];
}

/**
 * Process-wide counters (all extractions since start): tests assert that a repeated run does no
 * prefix inference at all.
 */
export const featureCounters = { cacheHits: 0, computed: 0, prefixRuns: 0, sessions: 0 };

export interface Prefix {
  /** The prefix graph (backbone cut at the boundary). Built lazily: a full cache hit never needs it. */
  bytes: () => Uint8Array;
  backboneSha256: string;
  boundary: string;
  /** ONNX shape of the boundary tensor without the batch dim (NCHW for spatial maps). */
  itemDims: number[];
  preprocess: PreprocessSpec;
}

export interface ExtractOptions {
  cacheDir: string;
  device?: Device;
  progress?: Progress;
  label?: string;
  batchSize?: number;
  /** An object store whose feature cache (see store-cache.ts) is used before running the prefix. */
  store?: ObjectStore;
  /**
   * false: only make sure every sample's activations are in the cache, and return no data (the
   * caller reads them back batch by batch). Default true.
   */
  inMemory?: boolean;
}

export interface Extracted {
  /** N × itemSize values, in the ONNX layout of the boundary tensor (empty with inMemory: false). */
  data: Float32Array;
  /** Where every sample's activations now are, under its id. */
  cache: FeatureCache;
  stats: FeatureStats;
  provider?: 'cpu' | 'cuda';
}

export async function extractFeatures(
  prefix: Prefix,
  samples: readonly { id: string; image: RawImage; file?: { path: string } }[],
  options: ExtractOptions,
): Promise<Extracted> {
  const started = performance.now();
  const progress = options.progress ?? silentProgress;
  const itemSize = prefix.itemDims.reduce((a, b) => a * b, 1);
  const cache = new FeatureCache(options.cacheDir, {
    backboneSha256: prefix.backboneSha256,
    boundary: prefix.boundary,
    preprocess: prefix.preprocess,
    itemSize,
  });
  const inMemory = options.inMemory ?? true;
  const data = new Float32Array(inMemory ? samples.length * itemSize : 0);
  // Copies a cached entry into `data`, or (not in memory) checks that it is there.
  const hit = (id: string, row: number) => (inMemory ? cache.read(id, data, row * itemSize) : cache.has(id));
  let missing: number[] = [];
  // The same picture may appear twice in a list (duplicates in a folder): compute it once.
  const firstRow = new Map<string, number>();
  const dupes: [number, number][] = [];
  samples.forEach((s, i) => {
    const seen = firstRow.get(s.id);
    if (seen !== undefined) {
      dupes.push([i, seen]);
      return;
    }
    firstRow.set(s.id, i);
    if (!hit(s.id, i)) missing.push(i);
  });
  let fromStore = 0;
  if (options.store && missing.length > 0) {
    const fetched = await fetchStoredFeatures(
      options.store,
      cache,
      missing.map((i) => samples[i]!.id),
    );
    missing = missing.filter((i) => !(fetched.has(samples[i]!.id) && hit(samples[i]!.id, i)));
    fromStore = fetched.size;
    progress.log(`${options.label ?? 'features'}: ${fetched.size} from ${options.store.url}`);
  }
  const stats: FeatureStats = {
    cacheHits: samples.length - dupes.length - missing.length,
    computed: missing.length,
    prefixRuns: 0,
    seconds: 0,
    ...(options.store ? { fromStore } : {}),
  };
  let provider: Extracted['provider'];
  if (missing.length > 0) {
    // Image files are decoded in worker threads while the prefix runs; pictures already in
    // memory (feedback a retraining job merged with a listed base) go straight to the prefix.
    const fileRows = missing.filter((i) => samples[i]!.file !== undefined);
    const pixelRows = missing.filter((i) => samples[i]!.file === undefined);
    // The workers start first: they boot and decode the first batches while the main thread
    // builds the prefix graph and onnxruntime loads it (both synchronous on the main thread).
    const pool = fileRows.length > 0 ? streamDecodePool(prefix.preprocess) : undefined;
    const task = progress.task(options.label ?? 'features', missing.length);
    // A batch's activations, row by row, into memory (when kept there) and the cache.
    const keepRows = (rows: readonly number[]) => (start: number, n: number, values: Float32Array) => {
      for (let k = 0; k < n; k++) {
        const row = rows[start + k]!;
        const v = values.subarray(k * itemSize, (k + 1) * itemSize);
        if (inMemory) data.set(v, row * itemSize);
        cache.write(samples[row]!.id, v);
      }
      stats.prefixRuns++;
      featureCounters.prefixRuns++;
    };
    const onBatch = (n: number) => task.tick(n);
    let runner: Promise<OrtNodeRunner> | undefined;
    try {
      const bytes = prefix.bytes();
      // Decoders share the cores with onnxruntime: its idle threads must not spin.
      runner = createOrtNodeRunner(bytes, { device: options.device, log: progress.log, spinning: !pool });
      runner.catch(() => {}); // observed below, by whichever step awaits it first
      if (pool) {
        const run = await runStreamedPrefix(
          runner,
          pool,
          fileRows.map((i) => samples[i]!.file!.path),
          prefix.preprocess,
          prefix.boundary,
          keepRows(fileRows),
          { batchSize: options.batchSize, fixedBatch: fixedBatchOf(bytes), onBatch },
        );
        stats.decoded = run.decoded;
        stats.decodeSeconds = Number(run.decodeSeconds.toFixed(3));
        stats.prefixSeconds = Number(run.prefixSeconds.toFixed(3));
        stats.shapes = run.shapes;
      }
      const session = await runner;
      featureCounters.sessions++;
      provider = session.variant;
      if (pixelRows.length > 0) {
        const keep = keepRows(pixelRows);
        await runImages(
          session,
          pixelRows.length,
          (k) => samples[pixelRows[k]!]!.image,
          prefix.preprocess,
          (start, n, outputs) => keep(start, n, outputs[prefix.boundary]!),
          {
            batchSize: options.batchSize ?? 32,
            fixedBatch: session.fixedBatch,
            outputs: [prefix.boundary],
            onBatch,
          },
        );
      }
    } finally {
      await pool?.close();
      await runner?.then(
        (r) => r.release(),
        () => {},
      );
    }
    task.done(`(${stats.cacheHits} from cache)`);
  } else if (samples.length > 0) {
    progress.log(`${options.label ?? 'features'}: all ${samples.length} from cache`);
  }
  if (inMemory)
    for (const [i, from] of dupes) data.copyWithin(i * itemSize, from * itemSize, (from + 1) * itemSize);
  stats.cacheHits += dupes.length;
  featureCounters.cacheHits += stats.cacheHits;
  featureCounters.computed += stats.computed;
  stats.seconds = (performance.now() - started) / 1000;
  return { data, cache, stats, provider };
}
