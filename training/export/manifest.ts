/** The export's manifest.json (shared/manifest ModelManifestSchema: the registry and edge read it). */
import { createHash } from 'node:crypto';
import { type ModelManifest, ModelManifestSchema } from '../../shared/manifest/manifest.ts';
import type { PreprocessSpec } from '../../shared/manifest/preprocess.ts';

export interface ManifestFields {
  name: string;
  /** The ONNX graph input. */
  inputName: string;
  modelBytes: Uint8Array;
  labels: string[];
  preprocess: PreprocessSpec;
  embeddingDim: number;
  backbone: { source: string; sha256?: string; featureTensor?: string };
  datasetDigest?: string;
  metrics: Record<string, number>;
  parent?: string | null;
  /** The offline-optimised graph stored beside the model (fast session creation at the edge). */
  optimized?: { file: string; sha256: string; size: number } | null;
  /** Engines this export passed the parity gate on. */
  engines?: string[];
}

export function buildManifest(f: ManifestFields): ModelManifest {
  const p = f.preprocess;
  return ModelManifestSchema.parse({
    schema: 1,
    name: f.name,
    createdAt: new Date().toISOString(),
    task: 'classification',
    model: {
      file: 'model.onnx',
      sha256: createHash('sha256').update(f.modelBytes).digest('hex'),
      size: f.modelBytes.byteLength,
    },
    input: { name: f.inputName, shape: ['N', p.channels, p.height, p.width] },
    outputs: { probabilities: 'probabilities', embedding: 'embedding', embeddingDim: f.embeddingDim },
    labels: f.labels,
    preprocess: { ...p, layout: 'NCHW' },
    backbone: f.backbone,
    datasetDigest: f.datasetDigest,
    metrics: Object.fromEntries(Object.entries(f.metrics).filter(([, v]) => Number.isFinite(v))),
    parent: f.parent ?? null,
    engines: f.engines ?? ['onnxruntime'],
    ...(f.optimized ? { optimized: f.optimized } : {}),
  });
}
