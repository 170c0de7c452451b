// Types only: each host loads onnxruntime-web its own way (workerd needs the precompiled-module
// trick in functions/runtime/ort.ts; Node imports the package), and the default Worker build must not
// carry it at all.
import type * as OrtWeb from 'onnxruntime-web';
import { ENGINES } from './engines.ts';
import type { InferenceRunner, RunnerTensor } from './runner.ts';

/** The part of the onnxruntime-web namespace the runner uses (both of its entry points have it). */
export type OrtWebModule = Pick<typeof OrtWeb, 'InferenceSession' | 'Tensor'>;

/**
 * onnxruntime-web behind `InferenceRunner`. Offline-optimised graphs are loaded without
 * re-optimising (faster session creation, same speed); plain exports get onnxruntime's full
 * optimisation.
 */
export async function createOrtWebRunner(
  ort: OrtWebModule,
  bytes: Uint8Array,
  optimized: boolean,
): Promise<InferenceRunner> {
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: ['wasm'],
    graphOptimizationLevel: optimized ? 'disabled' : 'all',
  });
  const cost = estimateOrtWebBytes(bytes.byteLength);
  return {
    engine: ENGINES.ortWeb,
    variant: 'wasm',
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    heapBytes: () => cost,
    run: async (input, data, dims) => {
      const out = await session.run({ [input]: new ort.Tensor('float32', data, [...dims]) });
      const result: Record<string, RunnerTensor> = {};
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
export function estimateOrtWebBytes(modelBytes: number): number {
  return 2 * modelBytes + 2 * 1024 * 1024;
}
