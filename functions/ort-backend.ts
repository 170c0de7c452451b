/**
 * The onnxruntime-web adapter behind `InferenceBackend`, and the `full` build's backends. Only
 * functions/full.ts imports this file, so the default Worker bundle carries no onnxruntime-web.
 */
import type { Backends, BackendTensor, InferenceBackend } from './backends.ts';
import { getOrt, type OrtSession } from './ort.ts';

/**
 * onnxruntime-web session. Offline-optimised graphs are loaded without re-optimising (FACTS.md:
 * faster session creation, same speed); plain exports get onnxruntime's full optimisation.
 */
export async function createOrtBackend(bytes: Uint8Array, optimized: boolean): Promise<InferenceBackend> {
  const ort = await getOrt();
  const session: OrtSession = await ort.InferenceSession.create(bytes, {
    executionProviders: ['wasm'],
    graphOptimizationLevel: optimized ? 'disabled' : 'all',
  });
  const cost = estimateOrtBytes(bytes.byteLength);
  return {
    engine: 'onnxruntime-web',
    variant: 'wasm',
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    heapBytes: () => cost,
    run: async (input, data, dims) => {
      const out = await session.run({ [input]: new ort.Tensor('float32', data, [...dims]) });
      const result: Record<string, BackendTensor> = {};
      for (const [name, t] of Object.entries(out)) {
        if (!(t.data instanceof Float32Array)) throw new Error(`output ${name} is ${t.type}, not float32`);
        result[name] = { data: t.data, dims: t.dims };
      }
      return result;
    },
    release: () => session.release(),
  };
}

/**
 * onnxruntime-web shares one wasm heap across sessions, so a session's share can only be
 * estimated: the weights are copied into wasm memory, onnxruntime keeps about as much again
 * (pre-packed weights, arena), plus a fixed allowance for activations.
 */
export function estimateOrtBytes(modelBytes: number): number {
  return 2 * modelBytes + 2 * 1024 * 1024;
}

/** The full build: the engine plus onnxruntime-web for versions the engine cannot run. */
export const FULL_BACKENDS: Backends = {
  build: 'full',
  ort: createOrtBackend,
  ready: async () => {
    await getOrt();
  },
};
