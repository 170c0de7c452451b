/**
 * The two inference engines the edge can run a version on, behind one adapter so the request
 * code never cares which one answers:
 * - `edgetune-wasm`: the SIMD CNN engine (shared/engine), faster than onnxruntime-web warm and far
 *   quicker to start (bench/results.json), for models whose ops it fully supports;
 * - `onnxruntime-web`: the general engine (functions/ort-backend.ts), for everything else.
 * Both take NCHW float32 input and return float32 outputs by name.
 *
 * onnxruntime-web's wasm is ~3.7 MB gzip, more than the Workers Free plan's 3 MB script limit,
 * so it is an optional adapter: the default (engine-only) Worker entry never imports it, and only
 * the `full` entry (functions/full.ts) hands it in through `Backends`.
 */
import { createEngineSession, type EngineSession } from '../shared/engine/index.ts';
import type { KernelModules } from '../shared/engine/index.ts';
import { EdgetuneError } from '../shared/errors.ts';
import { decodeModel, type ModelProto } from '../shared/onnx/proto.ts';
// Imported as precompiled modules (wrangler's CompiledWasm rule; paths relative to this file).
// workerd's V8 enables relaxed SIMD by default; the engine instantiates the relaxed kernels when
// that works and falls back to the SIMD128 ones otherwise (shared/engine/kernels.ts).
import relaxedKernels from '../shared/engine/kernels-relaxed.wasm';
import simdKernels from '../shared/engine/kernels-simd.wasm';

export type EngineName = 'edgetune-wasm' | 'onnxruntime-web';

/** The Worker builds (wrangler.toml): `engine` is the default entry, `full` is `[env.full]`. */
export type BuildName = 'engine' | 'full';

/** Creates an onnxruntime-web session from an ONNX file (offline-optimised or not). */
export type OrtBackendFactory = (bytes: Uint8Array, optimized: boolean) => Promise<InferenceBackend>;

/** What a Worker entry was built with: the engine always, onnxruntime-web only in the full build. */
export interface Backends {
  /** Named in the error a version gets when it needs the other build. */
  readonly build: BuildName;
  readonly ort?: OrtBackendFactory;
  /** Resolves once the engines are usable (the readiness probe waits on it). */
  ready(): Promise<void>;
}

/** The default build: the engine's precompiled kernels are all it needs, so it is always ready. */
export const ENGINE_ONLY: Backends = { build: 'engine', ready: async () => undefined };

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

/** The error a version gets on the engine-only build when only onnxruntime-web can run it. */
export function needsFullBuild(key: string, why: string): EdgetuneError {
  return new EdgetuneError(
    'needs_full_build',
    `${key} runs only on onnxruntime-web (${why}), which this engine-only Worker build leaves out: ` +
      'deploy the full build (wrangler deploy --env full) to serve it',
  );
}

/**
 * Creates a session on `engine` with what this build has. For the engine, the graph is checked
 * for support first thing, so a model with an op it lacks fails here with 'unsupported' (the
 * caller falls back); onnxruntime-web on the engine-only build fails with 'needs_full_build'.
 */
export async function createBackend(
  backends: Backends,
  engine: EngineName,
  bytes: Uint8Array,
  optimized: boolean,
): Promise<InferenceBackend> {
  if (engine === 'onnxruntime-web') {
    if (!backends.ort) throw needsFullBuild('this version', 'onnxruntime-web was asked for');
    return backends.ort(bytes, optimized);
  }
  // createEngineSession checks support on the graph it prepares, before any planning or weight
  // packing: a second check here would fold and scan the graph twice in a cold isolate.
  return createEngineBackend(decodeModel(bytes), bytes.byteLength);
}
