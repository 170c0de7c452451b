import { type BatchedOptions, runBatched } from '../inference/batched.ts';
import type { InferenceRunner } from '../inference/runner.ts';
import type { PreprocessSpec } from '../manifest/preprocess.ts';
import { writeImageTensor } from './tensor.ts';
import type { RawImage } from './types.ts';

/**
 * `runBatched` over images: item i is `image(i)` written as the model's NCHW input by the shared
 * preprocessing (as the edge does), so every gate, evaluation and calibration feeds a model alike.
 * An accessor rather than an array: streamed samples decode when read.
 */
export function runImages(
  runner: InferenceRunner,
  count: number,
  image: (index: number) => RawImage,
  preprocess: PreprocessSpec,
  take: (start: number, n: number, outputs: Record<string, Float32Array>) => void,
  options: BatchedOptions = {},
): Promise<void> {
  const spec = { ...preprocess, layout: 'NCHW' as const };
  return runBatched(
    runner,
    count,
    [spec.channels, spec.height, spec.width],
    (i, out, offset) => writeImageTensor(image(i), spec, out, offset),
    take,
    options,
  );
}
