/**
 * The parity gate: before anything is published, the exported ONNX runs in onnxruntime-node on
 * raw validation images through the shared preprocessing (exactly what the edge will do), and its
 * probabilities must match the tfjs predictions the metrics were computed from.
 */
import { EdgetuneError } from '../../shared/errors.ts';
import type { PreprocessSpec } from '../../shared/manifest/preprocess.ts';
import { writeImageTensor } from '../../shared/preprocess/tensor.ts';
import type { RawImage } from '../../shared/preprocess/types.ts';
import { createOrtModel, releaseOrtModel, runBatched } from '../features/session.ts';
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
  const spec = { ...preprocess, layout: 'NCHW' as const };
  const model = await createOrtModel(bytes, { device: 'cpu' });
  let maxAbsDiff = 0;
  try {
    await runBatched(
      model,
      images.length,
      [spec.channels, spec.height, spec.width],
      (i, out, offset) => writeImageTensor(images[i]!, spec, out, offset),
      (start, n, outputs) => {
        const p = outputs[PROBABILITIES]!;
        const e = outputs[EMBEDDING]!;
        if (p.length !== n * classes || e.length !== n * embeddingDim) {
          throw new EdgetuneError(
            'parity_failed',
            `exported model outputs ${p.length / n} probabilities and a ${e.length / n}-d embedding per image; ` +
              `expected ${classes} and ${embeddingDim}`,
          );
        }
        for (let k = 0; k < n * classes; k++) {
          const d = Math.abs(p[k]! - expected[start * classes + k]!);
          // NaN must fail the gate, so compare with a negated ≤.
          if (!(d <= maxAbsDiff)) maxAbsDiff = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
        }
      },
      { outputs: [PROBABILITIES, EMBEDDING] },
    );
  } finally {
    await releaseOrtModel(model);
  }
  return { maxAbsDiff, samples: images.length, tolerance, passed: maxAbsDiff <= tolerance };
}
