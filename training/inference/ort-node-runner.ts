/**
 * onnxruntime-node behind the shared `InferenceRunner` (Node only, so it lives on the training
 * side): what the export gates and evaluation run published and exported models on. Sessions come
 * from training/features/session.ts (device choice, CUDA fallback, thread count).
 */
import * as ort from './ort-node.ts';
import { EdgetuneError } from '../../shared/errors.ts';
import { ENGINES } from '../../shared/inference/engines.ts';
import type { InferenceRunner, RunnerTensor } from '../../shared/inference/runner.ts';
import { createOrtModel, type SessionOptions } from '../features/session.ts';

export interface OrtNodeRunner extends InferenceRunner {
  /** The execution provider the session runs on. */
  readonly variant: 'cpu' | 'cuda';
  /** The batch size the graph insists on (a fixed first input dim), else undefined. */
  readonly fixedBatch?: number;
}

export async function createOrtNodeRunner(
  bytes: Uint8Array,
  options: SessionOptions = {},
): Promise<OrtNodeRunner> {
  const model = await createOrtModel(bytes, options);
  const { session } = model;
  return {
    engine: ENGINES.ortNode,
    variant: model.provider,
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    fixedBatch: model.fixedBatch,
    // Native memory outside the JS heap; nothing budgets it on the training side.
    heapBytes: () => bytes.byteLength,
    run: async (input, data, dims) => {
      const tensor = new ort.Tensor('float32', data, [...dims]);
      const out = await session.run({ [input]: tensor });
      tensor.dispose();
      const result: Record<string, RunnerTensor> = {};
      for (const [name, t] of Object.entries(out)) {
        if (!(t.data instanceof Float32Array)) {
          throw new EdgetuneError('internal', `output ${name} is ${t.type}, not float32`);
        }
        result[name] = { data: t.data, dims: t.dims };
      }
      return result;
    },
    release: () => session.release(),
  };
}
