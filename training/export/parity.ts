/**
 * The parity gate: before anything is published, the exported ONNX runs in onnxruntime-node on
 * raw validation images through the shared preprocessing (exactly what the edge will do), and its
 * probabilities must match the tfjs predictions the metrics were computed from.
 */
import { EdgetuneError } from '../../shared/errors.ts';
import type { PreprocessSpec } from '../../shared/manifest/preprocess.ts';
import { runImages } from '../../shared/preprocess/run-images.ts';
import type { RawImage } from '../../shared/preprocess/types.ts';
import type { InferenceRunner } from '../../shared/inference/runner.ts';
import { createOrtNodeRunner } from '../inference/ort-node-runner.ts';
import { EMBEDDING, PROBABILITIES } from './assemble.ts';

export const PARITY_TOLERANCE = 1e-4;

export interface ParityReport {
  maxAbsDiff: number;
  samples: number;
  tolerance: number;
  passed: boolean;
}

export async function checkParity(
  bytes: Uint8Array,
  images: readonly RawImage[],
  preprocess: PreprocessSpec,
  expected: Float32Array,
  classes: number,
  embeddingDim: number,
  tolerance = PARITY_TOLERANCE,
): Promise<ParityReport> {
  if (images.length === 0) throw new EdgetuneError('bad_request', 'parity gate: no validation images');
  const runner = await createOrtNodeRunner(bytes, { device: 'cpu' });
  let maxAbsDiff: number;
  try {
    maxAbsDiff = await maxProbabilityDiff(runner, images, preprocess, expected, classes, {
      fixedBatch: runner.fixedBatch,
      embeddingDim,
    });
  } finally {
    await runner.release();
  }
  return { maxAbsDiff, samples: images.length, tolerance, passed: maxAbsDiff <= tolerance };
}

/**
 * The largest absolute difference between the probabilities a runner gives the validation
 * images (through the shared preprocessing, as the edge does) and `expected`: one procedure for
 * every runtime a gate checks. NaN counts as infinitely far.
 */
export async function maxProbabilityDiff(
  runner: InferenceRunner,
  images: readonly RawImage[],
  preprocess: PreprocessSpec,
  expected: Float32Array,
  classes: number,
  options: { batchSize?: number; fixedBatch?: number; embeddingDim?: number } = {},
): Promise<number> {
  const { embeddingDim } = options;
  let maxAbsDiff = 0;
  await runImages(
    runner,
    images.length,
    (i) => images[i]!,
    preprocess,
    (start, n, outputs) => {
      const p = outputs[PROBABILITIES]!;
      const e = outputs[EMBEDDING];
      if (p.length !== n * classes || (embeddingDim !== undefined && e?.length !== n * embeddingDim)) {
        throw new EdgetuneError(
          'parity_failed',
          `exported model outputs ${p.length / n} probabilities and a ${(e?.length ?? 0) / n}-d embedding per image; ` +
            `expected ${classes} and ${embeddingDim}`,
        );
      }
      for (let k = 0; k < n * classes; k++) {
        const d = Math.abs(p[k]! - expected[start * classes + k]!);
        // NaN must fail the gate, so compare with a negated ≤.
        if (!(d <= maxAbsDiff)) maxAbsDiff = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
      }
    },
    {
      batchSize: options.batchSize,
      fixedBatch: options.fixedBatch,
      outputs: embeddingDim === undefined ? [PROBABILITIES] : [PROBABILITIES, EMBEDDING],
    },
  );
  return maxAbsDiff;
}
