import { EdgetuneError } from '../../shared/errors.ts';
import type { ModelManifest } from '../../shared/manifest/manifest.ts';
import type { InferenceRunner } from '../../shared/inference/runner.ts';
import type { EngineName } from '../../shared/inference/engines.ts';
import type { Precision } from './precision.ts';

/** A batch's outputs, concatenated over the batch (row-major [N, …]). */
export interface BatchOutputs {
  probabilities: Float32Array;
  embedding: Float32Array;
}

/**
 * One inference session (either engine) plus the manifest it was verified against. Runs are
 * queued: both engines are single-threaded, and interleaving two runs on one session buys nothing.
 * The queue may chain one request's run onto another's (unlike the cache's loads and routing
 * reads, shared/own-wait.ts): a run does no I/O and sets no timer (compute and microtasks only),
 * so a queued run completes in the same turn as the one before it, and nothing it starts can
 * outlive that request.
 */
export class ModelSession {
  private tail: Promise<unknown> = Promise.resolve();
  private released = false;

  constructor(
    readonly name: string,
    readonly version: string,
    readonly manifest: ModelManifest,
    /** Which file the session was created from (the engine uses the plain export). */
    readonly file: string,
    private readonly backend: InferenceRunner,
    /** int8 when the session runs the version's quantized variant (functions/precision.ts). */
    readonly precision: Precision = 'fp32',
    /** Whether the engine copied its weights from the version's engine artifact (no packing). */
    readonly engineArtifact = false,
  ) {}

  get key(): string {
    return `${this.name}@${this.version}`;
  }

  /** Which engine serves this version. */
  get engine(): EngineName {
    return this.backend.engine;
  }

  /** The engine's kernel variant ('relaxed' | 'simd'), or 'wasm' for onnxruntime-web. */
  get variant(): string {
    return this.backend.variant;
  }

  /** Bytes held for the cache budget (the engine's grows when a new batch size is planned). */
  get cost(): number {
    return this.backend.heapBytes();
  }

  get inputNames(): readonly string[] {
    return this.backend.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.backend.outputNames;
  }

  /** Runs one NCHW float32 batch and returns the manifest's two outputs. */
  run(data: Float32Array, dims: readonly number[]): Promise<BatchOutputs> {
    const { input, outputs } = this.manifest;
    const next = this.tail.then(async () => {
      if (this.released) throw new Error(`session ${this.key} was released`);
      const results = await this.backend.run(input.name, data, dims);
      const probabilities = results[outputs.probabilities]?.data;
      const embedding = results[outputs.embedding]?.data;
      if (!probabilities || !embedding) {
        throw new EdgetuneError('corrupt', `${this.key}: the graph lacks the outputs named in its manifest`);
      }
      return { probabilities, embedding };
    });
    this.tail = next.catch(() => undefined);
    return next;
  }

  /** Frees the session once queued runs have finished. */
  release(): void {
    this.tail = this.tail.then(async () => {
      if (this.released) return;
      this.released = true;
      await this.backend.release();
    });
  }
}
