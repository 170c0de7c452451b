import { createEngineSession, type KernelModules, type WeightSnapshot } from '../engine/index.ts';
import { decodeModel, type ModelProto } from '../onnx/proto.ts';
import { ENGINES } from './engines.ts';
import type { InferenceRunner } from './runner.ts';

/**
 * The edgetune engine behind `InferenceRunner`. Its cost is the wasm memory it owns (weights
 * repacked + activation arena) plus the decoded graph it keeps for planning new batch sizes
 * (measured ≈ the model file's size). Each host hands in its kernels: precompiled modules in
 * workerd, compiled from the committed files in Node (kernels/node-kernels.ts).
 */
/** What a host may hand the engine beside the ONNX file (see shared/engine/artifact.ts). */
export interface EngineLoadOptions {
  /** Packed weights from the version's engine artifact, already verified against its manifest. */
  weights?: WeightSnapshot;
  /** Called when the weights do not cover the graph (the session is compiled without them). */
  onWeightsRefused?: (reason: string) => void;
  /** The bytes are the artifact's graph without weights: all must come from `weights`. */
  weightless?: boolean;
}

export async function createEngineRunner(
  model: ModelProto,
  kernels: KernelModules,
  modelBytes: number,
  load: EngineLoadOptions = {},
): Promise<InferenceRunner> {
  const session = await createEngineSession(model, kernels, load);
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
 * Decodes an ONNX file and opens the engine on it. `createEngineSession` checks support on the
 * graph it prepares, before any planning or weight packing, so a graph with an op the engine
 * lacks fails with 'unsupported' (callers fall back to onnxruntime) before memory is taken; a
 * second `supports()` here would fold and scan the graph again in a cold isolate.
 */
export async function createCheckedEngineRunner(
  bytes: Uint8Array,
  kernels: KernelModules,
  load: EngineLoadOptions = {},
): Promise<InferenceRunner> {
  return createEngineRunner(decodeModel(bytes), kernels, bytes.byteLength, load);
}
