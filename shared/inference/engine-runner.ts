import { createEngineSession, describeUnsupported, type KernelModules, supports } from '../engine/index.ts';
import { EdgetuneError } from '../errors.ts';
import { decodeModel, type ModelProto } from '../onnx/proto.ts';
import { ENGINES } from './engines.ts';
import type { InferenceRunner } from './runner.ts';

/**
 * The edgetune engine behind `InferenceRunner`. Its cost is the wasm memory it owns (weights
 * repacked + activation arena) plus the decoded graph it keeps for planning new batch sizes
 * (measured ≈ the model file's size). Each host hands in its kernels: precompiled modules in
 * workerd, compiled from the committed files in Node (engine/node-kernels.ts).
 */
export async function createEngineRunner(
  model: ModelProto,
  kernels: KernelModules,
  modelBytes: number,
): Promise<InferenceRunner> {
  const session = await createEngineSession(model, kernels);
  return {
    engine: ENGINES.wasm,
    variant: session.variant,
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    heapBytes: () => session.heapBytes + modelBytes,
    run: async (input, data, dims) => session.runSync({ [input]: { data, dims } }),
    release: async () => session.release(),
  };
}

/**
 * Decodes an ONNX file and checks it with `supports()` first, so a graph with an op the engine
 * lacks fails with 'unsupported' (callers fall back to onnxruntime) before any memory is taken.
 */
export async function createCheckedEngineRunner(
  bytes: Uint8Array,
  kernels: KernelModules,
): Promise<InferenceRunner> {
  const model = decodeModel(bytes);
  const report = supports(model);
  if (!report.ok) {
    throw new EdgetuneError('unsupported', `the engine cannot run: ${describeUnsupported(report)}`);
  }
  return createEngineRunner(model, kernels, bytes.byteLength);
}
