import type { ModelManifest } from '../shared/manifest/manifest.ts';
import { getOrt, type OrtSession, type OrtTensor } from './ort.ts';

export type Feeds = Record<string, OrtTensor>;
export type Results = Record<string, OrtTensor>;

/**
 * One onnxruntime-web session plus the manifest it was verified against. Runs are queued: the
 * wasm backend has one thread, and interleaving two `run` calls on one session buys nothing.
 */
export class ModelSession {
  private tail: Promise<unknown> = Promise.resolve();
  private released = false;

  constructor(
    readonly name: string,
    readonly version: string,
    readonly manifest: ModelManifest,
    /** Which file the session was created from (the optimised graph when the manifest has one). */
    readonly file: string,
    /** Estimated wasm heap bytes this session holds (for the cache budget). */
    readonly cost: number,
    private readonly session: OrtSession,
  ) {}

  get key(): string {
    return `${this.name}@${this.version}`;
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  run(feeds: Feeds): Promise<Results> {
    const next = this.tail.then(() => {
      if (this.released) throw new Error(`session ${this.key} was released`);
      return this.session.run(feeds) as Promise<Results>;
    });
    this.tail = next.catch(() => undefined);
    return next;
  }

  /** Frees the wasm memory once queued runs have finished. */
  release(): void {
    this.tail = this.tail.then(async () => {
      if (this.released) return;
      this.released = true;
      await this.session.release();
    });
  }
}

/**
 * Offline-optimised graphs are loaded without re-optimising (FACTS.md: faster session creation,
 * same speed); plain exports get onnxruntime's full optimisation.
 */
export async function createSession(bytes: Uint8Array, optimized: boolean): Promise<OrtSession> {
  const ort = await getOrt();
  return ort.InferenceSession.create(bytes, {
    executionProviders: ['wasm'],
    graphOptimizationLevel: optimized ? 'disabled' : 'all',
  });
}

/**
 * Heap estimate for the budget: the weights are copied into wasm memory, onnxruntime keeps about
 * as much again (pre-packed weights, arena), plus a fixed allowance for activations.
 */
export function estimateSessionBytes(modelBytes: number): number {
  return 2 * modelBytes + 2 * 1024 * 1024;
}
