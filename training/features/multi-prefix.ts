/**
 * Several boundaries of one backbone from a single onnxruntime-node pass: one session whose graph
 * is the backbone cut at all of them (cutAt with a list), so each image is preprocessed once and
 * every layer up to the last boundary runs once, instead of once per boundary. Each output lands
 * in the same feature cache entry a single-boundary extraction (extract.ts) would write, so any
 * later run at one of these boundaries — the final training of the chosen configuration, a second
 * search — reads it back without running the backbone.
 */
import type { PreprocessSpec } from '../../shared/manifest/preprocess.ts';
import { runImages } from '../../shared/preprocess/run-images.ts';
import type { RawImage } from '../../shared/preprocess/types.ts';
import { createOrtNodeRunner } from '../inference/ort-node-runner.ts';
import { type Progress, silentProgress } from '../train/progress.ts';
import { FeatureCache } from './cache.ts';
import { featureCounters } from './extract.ts';
import type { Device } from './session.ts';

export interface PrefixOutput {
  /** Tensor of the graph returned by `bytes`. */
  boundary: string;
  /** ONNX shape of the tensor without the batch dim (NCHW for spatial maps). */
  itemDims: number[];
}

export interface MultiPrefix {
  /** The backbone cut at every output's boundary. Built lazily: a full cache hit never needs it. */
  bytes: () => Uint8Array;
  backboneSha256: string;
  preprocess: PreprocessSpec;
  outputs: PrefixOutput[];
}

export interface MultiExtractOptions {
  cacheDir: string;
  device?: Device;
  progress?: Progress;
  label?: string;
  batchSize?: number;
}

export interface MultiExtracted {
  /** Per boundary: N × itemSize values in the ONNX layout of the tensor, samples in order. */
  data: Map<string, Float32Array>;
  /** Images that needed the backbone (at least one boundary missing from the cache). */
  computed: number;
}

export async function extractPrefixOutputs(
  prefix: MultiPrefix,
  samples: readonly { id: string; image: RawImage }[],
  options: MultiExtractOptions,
): Promise<MultiExtracted> {
  const progress = options.progress ?? silentProgress;
  const outs = prefix.outputs.map((o) => {
    const itemSize = o.itemDims.reduce((a, b) => a * b, 1);
    return {
      ...o,
      itemSize,
      cache: new FeatureCache(options.cacheDir, {
        backboneSha256: prefix.backboneSha256,
        boundary: o.boundary,
        preprocess: prefix.preprocess,
        itemSize,
      }),
      data: new Float32Array(samples.length * itemSize),
    };
  });
  // An image is run when any of its boundaries is missing: the pass yields all of them anyway.
  const missing = samples
    .map((s, row) => ({ s, row }))
    .filter(({ s, row }) => !outs.every((o) => o.cache.read(s.id, o.data, row * o.itemSize)))
    .map(({ row }) => row);
  featureCounters.cacheHits += samples.length - missing.length;
  if (missing.length > 0) {
    const runner = await createOrtNodeRunner(prefix.bytes(), { device: options.device, log: progress.log });
    featureCounters.sessions++;
    const task = progress.task(options.label ?? 'features', missing.length);
    try {
      await runImages(
        runner,
        missing.length,
        (k) => samples[missing[k]!]!.image,
        prefix.preprocess,
        (start, n, values) => {
          for (const o of outs) {
            const v = values[o.boundary]!;
            for (let k = 0; k < n; k++) {
              const row = missing[start + k]!;
              const item = v.subarray(k * o.itemSize, (k + 1) * o.itemSize);
              o.data.set(item, row * o.itemSize);
              o.cache.write(samples[row]!.id, item);
            }
          }
          featureCounters.prefixRuns++;
        },
        {
          batchSize: options.batchSize ?? 32,
          fixedBatch: runner.fixedBatch,
          outputs: outs.map((o) => o.boundary),
          onBatch: (n) => task.tick(n),
        },
      );
    } finally {
      await runner.release();
    }
    featureCounters.computed += missing.length;
    task.done(`(${samples.length - missing.length} from cache, ${outs.length} layers in one pass)`);
  } else if (samples.length > 0) {
    progress.log(`${options.label ?? 'features'}: all ${samples.length} from cache`);
  }
  return { data: new Map(outs.map((o) => [o.boundary, o.data])), computed: missing.length };
}
