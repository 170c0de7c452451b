/**
 * Which file of a version the edge serves: the int8 variant (`model.int8.onnx`, QDQ) when the
 * training job published it (it passed its accuracy gate, so it is in the manifest with a file and
 * checksum) and the version runs on the edgetune engine — whose int8 kernels are what make int8
 * worth serving; onnxruntime-web runs QDQ graphs slower than fp32 — else the fp32 export.
 * `PRECISION=fp32` forces the fp32 export everywhere (an operator's switch, e.g. while comparing);
 * a request's `x-model-precision: fp32` header does the same for that request only.
 */
import type { ModelManifest } from '../../shared/manifest/manifest.ts';

/** `auto`: int8 where a published variant exists; `fp32`: always the fp32 export. */
export const PRECISION_MODES = ['auto', 'fp32'] as const;
export type PrecisionMode = (typeof PRECISION_MODES)[number];

export type Precision = 'fp32' | 'int8';

/** The int8 file to serve for this version, if any. */
export function int8Choice(manifest: ModelManifest, mode: PrecisionMode): Int8Choice | undefined {
  if (mode === 'fp32') return undefined;
  const v = manifest.variants?.find((x) => x.kind === 'int8' && x.published);
  if (!v?.file || !v.sha256 || v.size === undefined) return undefined;
  return { file: v.file, sha256: v.sha256, size: v.size, ...(v.engine ? { engine: v.engine } : {}) };
}

/** The int8 file, and its engine artifact when the version was published with one. */
export interface Int8Choice {
  file: string;
  sha256: string;
  size: number;
  engine?: { file: string; sha256: string; size: number; format: number };
}
