/**
 * The two inference engines the edge can run a version on, behind one adapter so the request
 * code never cares which one answers:
 * - `edgetune-wasm`: the SIMD CNN engine (shared/engine), faster than onnxruntime-web warm and far
 *   quicker to start (bench/results.json), for models whose ops it fully supports;
 * - `onnxruntime-web`: the general engine (functions/ort.ts), for everything else.
 * Both take NCHW float32 input and return float32 outputs by name.
 */
import { createEngineSession, type EngineSession, supports } from '../shared/engine/index.ts';
import type { KernelModules } from '../shared/engine/index.ts';
import { EdgetuneError } from '../shared/errors.ts';
import { ENGINE_IDS } from '../shared/manifest/manifest.ts';
import { decodeModel, type ModelProto } from '../shared/onnx/proto.ts';
// Imported as precompiled modules (wrangler's CompiledWasm rule; paths relative to this file).
// workerd's V8 enables relaxed SIMD by default; the engine instantiates the relaxed kernels when
// that works and falls back to the SIMD128 ones otherwise (shared/engine/kernels.ts).
import relaxedKernels from '../shared/engine/kernels-relaxed.wasm';
import simdKernels from '../shared/engine/kernels-simd.wasm';
import { getOrt, type OrtSession } from './ort.ts';

export type EngineName = 'edgetune-wasm' | 'onnxruntime-web';

/** The id the training export writes into `manifest.engines` when the engine passed its parity gate. */
export const ENGINE_MANIFEST_ID = ENGINE_IDS.wasm;

export interface BackendTensor {
  data: Float32Array;
  dims: readonly number[];
}

export interface InferenceBackend {
  readonly engine: EngineName;
  /** Kernel variant for the engine ('relaxed' | 'simd'); 'wasm' for onnxruntime-web. */
  readonly variant: string;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Bytes this session keeps resident, for the cache budget (may grow with new batch sizes). */
  heapBytes(): number;
  run(input: string, data: Float32Array, dims: readonly number[]): Promise<Record<string, BackendTensor>>;
  release(): Promise<void>;
}

/** The kernels this host offers the engine: relaxed SIMD first, SIMD128 as the fallback. */
export function kernelModules(): KernelModules {
  return { relaxed: relaxedKernels, simd: simdKernels };
}

/**
 * Engine session. Its cost is the wasm memory it owns (weights repacked + activation arena) plus
 * the decoded graph it keeps for planning new batch sizes (measured ≈ the model file's size).
 */
export async function createEngineBackend(model: ModelProto, modelBytes: number): Promise<InferenceBackend> {
  const session: EngineSession = await createEngineSession(model, kernelModules());
  return {
    engine: 'edgetune-wasm',
    variant: session.variant,
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    heapBytes: () => session.heapBytes + modelBytes,
    run: async (input, data, dims) => session.runSync({ [input]: { data, dims } }),
    release: async () => session.release(),
  };
}

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

/**
 * Creates a session on `engine`. For the engine, the graph is checked with `supports()` first,
 * so a model with an op it lacks fails here with 'unsupported' (the caller falls back).
 */
export async function createBackend(
  engine: EngineName,
  bytes: Uint8Array,
  optimized: boolean,
): Promise<InferenceBackend> {
  if (engine === 'onnxruntime-web') return createOrtBackend(bytes, optimized);
  const model = decodeModel(bytes);
  const report = supports(model);
  if (!report.ok) {
    throw new EdgetuneError('unsupported', `the engine cannot run: ${report.unsupported.join('; ')}`);
  }
  return createEngineBackend(model, bytes.byteLength);
}
