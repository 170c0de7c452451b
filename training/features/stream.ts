/**
 * The frozen prefix over streamed samples (image files): a pool of worker threads decodes the
 * files of the next batches straight to the model input while onnxruntime-node runs the current
 * one. At most PREFETCH batches are decoded ahead, so memory holds a few batches of input tensors
 * whatever the dataset size, and each batch's tensors are dropped once its activations are
 * handed on (to the feature cache).
 */
import { EdgetuneError } from '../../shared/errors.ts';
import type { PreprocessSpec } from '../../shared/manifest/preprocess.ts';
import { decodeTargetFor } from '../../shared/preprocess/preprocess.ts';
import { decodeCounters } from '../datasets/decode-counters.ts';
import type { ImageShape } from '../datasets/shape-warnings.ts';
import type { OrtNodeRunner } from '../inference/ort-node-runner.ts';
import { DecodePool } from './decode-pool.ts';

/** Batches decoded ahead of the one onnxruntime is running. */
const PREFETCH = 3;

/**
 * Images per prefix run for streamed files. Small batches start the first run sooner and leave
 * less to run alone once decoding is over; onnxruntime's CPU time per image is no higher at 8
 * than at 32 (MobileNetV2 measured 5–6 ms/image/thread at either size).
 */
export const STREAMED_BATCH = 8;

export interface StreamedRunStats {
  decoded: number;
  /** Worker time spent reading and decoding (summed over workers: CPU-seconds, not wall). */
  decodeSeconds: number;
  /** Wall time of the onnxruntime runs. */
  prefixSeconds: number;
  /** Shape of every decoded image (after shrink-on-load), for the input warnings. */
  shapes: ImageShape[];
}

/** A decode pool that turns files into the model input of `spec` (NCHW). */
export function streamDecodePool(spec: PreprocessSpec): DecodePool {
  return new DecodePool({ spec: { ...spec, layout: 'NCHW' }, ...decodeTargetFor(spec) });
}

/**
 * Runs the prefix over `files`, decoded by `pool` (made by streamDecodePool for the same spec).
 * `runner` may still be loading: the first batches are decoded meanwhile. `fixedBatch` is the
 * batch size the graph insists on, if any (padded batches of exactly that many rows).
 */
export async function runStreamedPrefix(
  runner: Promise<OrtNodeRunner>,
  pool: DecodePool,
  files: readonly string[],
  spec: PreprocessSpec,
  output: string,
  take: (start: number, n: number, values: Float32Array) => void,
  options: { batchSize?: number; fixedBatch?: number; onBatch?: (n: number) => void },
): Promise<StreamedRunStats> {
  const itemDims = [spec.channels, spec.height, spec.width];
  const itemSize = itemDims[0]! * itemDims[1]! * itemDims[2]!;
  const batch = options.fixedBatch ?? options.batchSize ?? STREAMED_BATCH;
  const rowsFor = (n: number) => options.fixedBatch ?? n;
  const stats: StreamedRunStats = { decoded: 0, decodeSeconds: 0, prefixSeconds: 0, shapes: [] };
  const decodeBatch = async (start: number): Promise<Float32Array> => {
    const n = Math.min(batch, files.length - start);
    const data = new Float32Array(rowsFor(n) * itemSize);
    await Promise.all(
      files.slice(start, start + n).map(async (file, k) => {
        const d = await pool.decode(file);
        data.set(d.tensor, k * itemSize);
        stats.decoded++;
        decodeCounters.images++;
        stats.decodeSeconds += d.ms / 1000;
        stats.shapes.push({ width: d.width, height: d.height, channels: d.channels });
      }),
    );
    return data;
  };
  const ahead: Promise<Float32Array>[] = [];
  let next = 0;
  const refill = () => {
    while (ahead.length < PREFETCH + 1 && next < files.length) {
      const p = decodeBatch(next);
      // Rejections are observed when the batch is awaited; this keeps Node from calling an
      // early failure of a prefetched batch unhandled.
      p.catch(() => {});
      ahead.push(p);
      next += batch;
    }
  };
  try {
    refill();
    const session = await runner;
    const inputName = session.inputNames[0];
    if (inputName === undefined) throw new EdgetuneError('bad_request', 'the model has no input');
    for (let start = 0; start < files.length; start += batch) {
      const data = await ahead.shift()!;
      refill();
      const n = Math.min(batch, files.length - start);
      const t = performance.now();
      const rows = rowsFor(n);
      const out = (await session.run(inputName, data, [rows, ...itemDims]))[output];
      if (out === undefined) throw new EdgetuneError('internal', `output ${output} is missing`);
      stats.prefixSeconds += (performance.now() - t) / 1000;
      take(start, n, out.data.subarray(0, (out.data.length / rows) * n));
      options.onBatch?.(n);
    }
  } finally {
    await Promise.allSettled(ahead);
  }
  return stats;
}
