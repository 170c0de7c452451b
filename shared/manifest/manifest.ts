import { z } from 'zod';
import { ENGINE_IDS } from '../inference/engines.ts';
import { NAME_PATTERN } from '../names.ts';
import { PreprocessSpecSchema } from './preprocess.ts';

/**
 * Whether the edgetune engine may serve a version: its export passed the engine's parity gate.
 * Versions without it need onnxruntime-web, i.e. the `full` Worker build.
 */
export function listsEngine(manifest: { engines: readonly string[] }): boolean {
  return manifest.engines.includes(ENGINE_IDS.wasm);
}

/** The warning publish and train print for a version only the full Worker build can serve. */
export function fullBuildOnlyWarning(name: string, version: string): string {
  return (
    `warning: ${name}@${version} does not list the edgetune engine (manifest engines), so it runs only on ` +
    'the full Worker build (wrangler deploy --env full); the default engine-only build answers it 422 needs_full_build'
  );
}

const Name = z.string().regex(NAME_PATTERN, 'must match [a-z0-9][a-z0-9_-]{0,63}');
const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be a lowercase hex sha256');

export const MetricsSchema = z.record(z.string(), z.number());

/**
 * The int8 variant's file in a version folder, as the training job names it. The edge starts
 * reading the variant's engine artifact by this name before the manifest that lists it arrives
 * (functions/runtime/models.ts); what it serves is still only what the manifest lists.
 */
export const INT8_FILE = 'model.int8.onnx';

/**
 * A quantized artifact of the same version (e.g. `model.int8.onnx`, QDQ form). It is listed even
 * when its accuracy gate failed (then `published` is false, no file is stored and `reason` says
 * why), so the registry and report show that it was tried.
 */
export const QuantizedVariantSchema = z
  .object({
    kind: z.literal('int8'),
    published: z.boolean(),
    file: z.string().optional(),
    sha256: Sha256.optional(),
    size: z.number().int().nonnegative().optional(),
    reason: z.string().optional(),
    scheme: z.object({
      /** Weights: int8, symmetric, one scale per output channel. */
      weights: z.literal('int8-symmetric-per-channel'),
      activationBits: z.union([z.literal(7), z.literal(8)]),
      calibration: z.enum(['minmax', 'percentile', 'mse']),
      calibrationSamples: z.number().int().nonnegative(),
      /** Nodes kept in fp32 (e.g. the first conv and the head) because accuracy needed it. */
      fp32Nodes: z.array(z.string()).default([]),
    }),
    /** Held-out accuracy gate: drop vs fp32 in points, top-1 agreement, embedding cosine. */
    gate: z.object({
      samples: z.number().int().nonnegative(),
      fp32Accuracy: z.number(),
      accuracy: z.number(),
      accuracyDropPoints: z.number(),
      maxAccuracyDropPoints: z.number(),
      top1Agreement: z.number(),
      minTop1Agreement: z.number(),
      embeddingCosine: z.number(),
    }),
    /** Runtimes the variant was checked on. */
    engines: z.array(z.string()).default([]),
    /**
     * The edgetune engine's compiled form of `file` (shared/engine/artifact.ts: packed weights,
     * `format` = the packing code's version), so the edge copies weights instead of packing
     * them. Optional: versions published without it, or with a format this engine does not
     * read, are compiled from `file` as before.
     */
    engine: z
      .object({
        file: z.string(),
        sha256: Sha256,
        size: z.number().int().nonnegative(),
        format: z.number().int().positive(),
      })
      .optional(),
  })
  .refine((v) => !v.published || (v.file !== undefined && v.sha256 !== undefined && v.size !== undefined), {
    message: 'a published variant needs file, sha256 and size',
  });
export type QuantizedVariant = z.infer<typeof QuantizedVariantSchema>;

const FileEntry = z.object({ file: z.string(), sha256: Sha256, size: z.number().int().nonnegative() });

/**
 * How a prototype (nearest-class-mean) version was made: from which version's embedding, with
 * which temperature, from which example images (content hashes), and the file holding their
 * embeddings, so that adding examples later builds the next version without the old images.
 */
export const PrototypeHeadSchema = z.object({
  method: z.literal('prototype'),
  /** The version whose embedding graph it extends; absent when built on a backbone (`edgetune train`). */
  from: z.object({ model: Name, version: Name }).optional(),
  temperature: z.number().positive(),
  examples: z.array(z.object({ label: z.string().min(1).max(128), sha256: Sha256 })).min(1),
  embeddings: FileEntry,
});
export type PrototypeHeadInfo = z.infer<typeof PrototypeHeadSchema>;

/** The model contract written next to every exported/published ONNX file. */
export const ModelManifestSchema = z.object({
  schema: z.literal(1),
  name: Name,
  /** Set by the registry on publish ("v1", "v2", ...); absent in an unpublished export. */
  version: Name.optional(),
  createdAt: z.string().datetime(),
  task: z.enum(['classification', 'embedding']).default('classification'),
  model: z.object({
    file: z.string().default('model.onnx'),
    sha256: Sha256,
    size: z.number().int().nonnegative(),
  }),
  /** Offline-optimised graph for fast session creation at the edge (optional). */
  optimized: z.object({ file: z.string(), sha256: Sha256, size: z.number().int().nonnegative() }).optional(),
  input: z.object({
    name: z.string(),
    shape: z.array(z.union([z.number().int(), z.string()])),
  }),
  outputs: z.object({
    probabilities: z.string().default('probabilities'),
    embedding: z.string().default('embedding'),
    embeddingDim: z.number().int().positive(),
  }),
  labels: z.array(z.string().min(1).max(128)).min(1),
  preprocess: PreprocessSpecSchema,
  backbone: z.object({
    source: z.string(),
    sha256: Sha256.optional(),
    featureTensor: z.string().optional(),
  }),
  datasetDigest: z.string().optional(),
  metrics: MetricsSchema.default({}),
  parent: Name.nullable().default(null),
  /** Absent for trained heads. */
  head: PrototypeHeadSchema.optional(),
  /** Inference engines this version was validated on (parity gate). */
  engines: z.array(z.string()).default([ENGINE_IDS.onnxruntime]),
  /** Quantized artifacts of this version (absent in manifests written before they existed). */
  variants: z.array(QuantizedVariantSchema).optional(),
});
export type ModelManifest = z.infer<typeof ModelManifestSchema>;
export type ModelManifestInput = z.input<typeof ModelManifestSchema>;
