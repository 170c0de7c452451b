/**
 * The `full` build's backends: the engine plus onnxruntime-web (shared/inference/ort-web-runner.ts)
 * loaded the workerd way (functions/runtime/ort.ts). Only functions/full.ts imports this file, so the
 * default Worker bundle carries no onnxruntime-web.
 */
import type { InferenceRunner } from '../../shared/inference/runner.ts';
import { createOrtWebRunner } from '../../shared/inference/ort-web-runner.ts';
import type { Backends } from './backends.ts';
import { getOrt } from './ort.ts';

export async function createOrtBackend(bytes: Uint8Array, optimized: boolean): Promise<InferenceRunner> {
  return createOrtWebRunner(await getOrt(), bytes, optimized);
}

/** The full build: the engine plus onnxruntime-web for versions the engine cannot run. */
export const FULL_BACKENDS: Backends = {
  build: 'full',
  ort: createOrtBackend,
  ready: async () => {
    await getOrt();
  },
};
