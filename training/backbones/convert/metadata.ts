/**
 * The metadata_props a converted backbone carries, so that a bare .onnx file still says what it
 * expects (input layout and value range), what it predicts (labels) and where to cut it
 * (feature tensors). Values are strings; structured ones are JSON.
 */
import { z } from 'zod';
import { type PreprocessSpec, PreprocessSpecSchema } from '../../../shared/manifest/preprocess.ts';
import type { ModelProto } from '../../../shared/onnx/proto.ts';

export const METADATA_KEYS = {
  /** Where the model came from, e.g. "nsfwjs:MobileNetV2@4.4.0" or "tfjs:/abs/model.json". */
  source: 'edgetune.source',
  /** Converter id and version, e.g. "edgetune-tfjs-onnx/1". */
  converter: 'edgetune.converter',
  /** JSON: { name, shape, layout, dtype, range? }. */
  input: 'edgetune.input',
  /** JSON: a shared/manifest PreprocessSpec (pixel → input value), present when the range is known. */
  preprocess: 'edgetune.preprocess',
  /** JSON: [{ name, shape, layer, kind }] for every graph output. */
  outputs: 'edgetune.outputs',
  /** JSON: suggested feature tensors [{ name, layer, shape, kind }], best first. */
  features: 'edgetune.features',
  /** JSON: class labels of the probabilities output, in index order. */
  labels: 'edgetune.labels',
} as const;

const DimSchema = z.union([z.number().int(), z.string()]);

export const InputInfoSchema = z.object({
  name: z.string(),
  shape: z.array(DimSchema),
  layout: z.enum(['NCHW', 'NHWC', 'other']),
  dtype: z.literal('float32'),
  /** Values the model was trained on, e.g. [0, 1] (pixels / 255) or [-1, 1]. */
  range: z.tuple([z.number(), z.number()]).optional(),
});
export type InputInfo = z.infer<typeof InputInfoSchema>;

export const OutputInfoSchema = z.object({
  name: z.string(),
  shape: z.array(DimSchema),
  layer: z.string(),
  kind: z.enum(['probabilities', 'tensor']),
});
export type OutputInfo = z.infer<typeof OutputInfoSchema>;

export const FeatureInfoSchema = z.object({
  name: z.string(),
  layer: z.string(),
  shape: z.array(DimSchema),
  kind: z.string(),
});
export type FeatureInfo = z.infer<typeof FeatureInfoSchema>;

export interface BackboneMetadata {
  source?: string;
  converter?: string;
  input?: InputInfo;
  preprocess?: PreprocessSpec;
  outputs: OutputInfo[];
  features: FeatureInfo[];
  labels?: string[];
}

function parseJson<S extends z.ZodType>(value: string | undefined, schema: S): z.infer<S> | undefined {
  if (value === undefined) return undefined;
  try {
    const r = schema.safeParse(JSON.parse(value));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

/** Reads what the converter wrote; missing or malformed keys are simply absent. */
export function readBackboneMetadata(model: ModelProto): BackboneMetadata {
  const props = new Map<string, string>();
  for (const p of model.metadataProps ?? []) if (p.key) props.set(p.key, p.value ?? '');
  return {
    source: props.get(METADATA_KEYS.source),
    converter: props.get(METADATA_KEYS.converter),
    input: parseJson(props.get(METADATA_KEYS.input), InputInfoSchema),
    preprocess: parseJson(props.get(METADATA_KEYS.preprocess), PreprocessSpecSchema),
    outputs: parseJson(props.get(METADATA_KEYS.outputs), z.array(OutputInfoSchema)) ?? [],
    features: parseJson(props.get(METADATA_KEYS.features), z.array(FeatureInfoSchema)) ?? [],
    labels: parseJson(props.get(METADATA_KEYS.labels), z.array(z.string())),
  };
}

/**
 * A PreprocessSpec (see shared/manifest/preprocess.ts: value = (pixel/255*scale - mean)/std)
 * mapping 0..255 pixels onto [lo, hi].
 */
export function preprocessForRange(
  range: readonly [number, number],
  size: { width: number; height: number; channels: 1 | 3 },
): PreprocessSpec {
  const [lo, hi] = range;
  const std = 1 / (hi - lo);
  const mean = -lo / (hi - lo);
  return PreprocessSpecSchema.parse({ ...size, layout: 'NCHW', scale: 1, mean: [mean], std: [std] });
}
