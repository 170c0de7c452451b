/**
 * Warnings a user needs before trusting a transfer run: the backbone sees images blown up far
 * beyond their real resolution, or its features barely change from image to image (random or
 * broken weights, a wrong preprocessing), in which case the head can only learn noise.
 */
import type { PreprocessSpec } from '../../shared/manifest/preprocess.ts';
import type { Sample } from '../datasets/types.ts';

/** An input this many times the images' median side is mostly interpolation. */
const UPSCALE_FACTOR = 4;
/** Features whose spread across images is below this fraction of their magnitude are constant. */
const CONSTANT_RELATIVE_SPREAD = 1e-3;

export function upscaleWarning(samples: readonly Sample[], spec: PreprocessSpec): string | undefined {
  return upscaleWarningFromSides(
    samples.map((s) => Math.max(s.image.width, s.image.height)),
    spec,
  );
}

/** The same from the images' longer sides (streamed data: collected while decoding). */
export function upscaleWarningFromSides(
  longerSides: readonly number[],
  spec: PreprocessSpec,
): string | undefined {
  if (longerSides.length === 0) return undefined;
  const sides = [...longerSides].sort((a, b) => a - b);
  const median = sides[Math.floor(sides.length / 2)]!;
  const side = Math.max(spec.width, spec.height);
  if (side < UPSCALE_FACTOR * median) return undefined;
  return (
    `the backbone input (${spec.width}×${spec.height}) is ${(side / median).toFixed(0)}× the images' median size ` +
    `(${median} px): most of what it sees is interpolation; a backbone with a smaller input may transfer better`
  );
}

/**
 * `data` holds `n` items of `dim` values. Reports when the per-dimension standard deviation across
 * items, summed, is below CONSTANT_RELATIVE_SPREAD of the summed mean magnitude.
 */
export function constantFeatureWarning(
  data: Float32Array,
  n: number,
  dim: number,
  tensor: string,
): string | undefined {
  if (n < 2 || dim === 0) return undefined;
  let spread = 0;
  let magnitude = 0;
  for (let d = 0; d < dim; d++) {
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < n; i++) {
      const v = data[i * dim + d]!;
      sum += v;
      sq += v * v;
    }
    const mean = sum / n;
    spread += Math.sqrt(Math.max(0, sq / n - mean * mean));
    magnitude += Math.abs(mean);
  }
  if (spread > CONSTANT_RELATIVE_SPREAD * magnitude && spread > 1e-12 * dim) return undefined;
  const relative = magnitude > 0 ? (spread / magnitude).toExponential(1) : '0';
  return (
    `the features at ${tensor} are (near) constant across the ${n} training images (relative spread ${relative}): ` +
    'the head cannot learn from them; check the backbone weights and its --preprocess'
  );
}
