import type { ModelManifestInput } from '../../shared/manifest/manifest.ts';

/** What the workers global setup hands tests/workers/fixed-batch.test.ts. */
export interface FixedBatchFixtures {
  /** The request images (PNG/JPEG), base64. */
  images: string[];
  models: {
    /** tests/fixtures/foreign/<fixture>.onnx */
    fixture: string;
    /** The batch size the graph is fixed at. */
    batch: number;
    manifest: ModelManifestInput;
    /** model.onnx, base64. */
    model: string;
    /** Per image: onnxruntime-node's probabilities for that image alone. */
    references: number[][];
  }[];
}

declare module 'vitest' {
  export interface ProvidedContext {
    fixedBatch: FixedBatchFixtures;
  }
}
