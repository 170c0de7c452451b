/**
 * A published int8 variant entry as a manifest lists it: the scheme and gate of a variant that
 * passed with one calibration image. For code that builds a manifest by hand rather than from a
 * quantization run: the edge's start-up parsing warm-up and the tests. Callers give the file's
 * checksum and size and the runtimes it was checked on.
 */
import { INT8_FILE, type QuantizedVariant } from './manifest.ts';

export function passedInt8Variant(file: {
  sha256: string;
  size: number;
  engines?: string[];
}): QuantizedVariant {
  return {
    kind: 'int8',
    published: true,
    file: INT8_FILE,
    scheme: {
      weights: 'int8-symmetric-per-channel',
      activationBits: 7,
      calibration: 'minmax',
      calibrationSamples: 1,
      fp32Nodes: [],
    },
    gate: {
      samples: 1,
      fp32Accuracy: 1,
      accuracy: 1,
      accuracyDropPoints: 0,
      maxAccuracyDropPoints: 0.5,
      top1Agreement: 1,
      minTop1Agreement: 0.99,
      embeddingCosine: 1,
    },
    sha256: file.sha256,
    size: file.size,
    engines: file.engines ?? [],
  };
}
