/**
 * What the edge runs versions on, behind the shared `InferenceRunner` so the request code never
 * cares which runtime answers:
 * - `edgetune-wasm`: the SIMD CNN engine (shared/engine), faster than onnxruntime-web warm and far
 *   quicker to start (bench/results.json), for models whose ops it fully supports;
 * - `onnxruntime-web`: the general runtime (functions/runtime/ort-backend.ts), for everything else.
 *
 * onnxruntime-web's wasm is ~3.7 MB gzip, more than the Workers Free plan's 3 MB script limit,
 * so it is an optional adapter: the default (engine-only) Worker entry never imports it, and only
 * the `full` entry (functions/full.ts) hands it in through `Backends`.
 */
import type { KernelModules } from '../../shared/engine/index.ts';
import { EdgetuneError } from '../../shared/errors.ts';
import { createCheckedEngineRunner, type EngineLoadOptions } from '../../shared/inference/engine-runner.ts';
import { ENGINES, type EngineName } from '../../shared/inference/engines.ts';
import type { InferenceRunner } from '../../shared/inference/runner.ts';
// Imported as precompiled modules (wrangler's CompiledWasm rule; paths relative to this file).
// workerd's V8 enables relaxed SIMD by default; the engine instantiates the relaxed kernels when
// that works and falls back to the SIMD128 ones otherwise (shared/engine/kernels.ts).
import relaxedKernels from '../../shared/engine/kernels-relaxed.wasm';
import simdKernels from '../../shared/engine/kernels-simd.wasm';

/** The runtimes a Worker can hold: the engine always, onnxruntime-web in the full build. */
export type EdgeEngineName = Exclude<EngineName, typeof ENGINES.ortNode>;

/** The Worker builds (wrangler.toml): `engine` is the default entry, `full` is `[env.full]`. */
export type BuildName = 'engine' | 'full';

/** Creates an onnxruntime-web session from an ONNX file (offline-optimised or not). */
export type OrtBackendFactory = (bytes: Uint8Array, optimized: boolean) => Promise<InferenceRunner>;

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

/** The kernels this host offers the engine: relaxed SIMD first, SIMD128 as the fallback. */
export function kernelModules(): KernelModules {
  return { relaxed: relaxedKernels, simd: simdKernels };
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
 * Creates a session on `engine` with what this build has. The engine checks the graph with
 * `supports()` first, so a model with an op it lacks fails here with 'unsupported' (the caller
 * falls back); onnxruntime-web on the engine-only build fails with 'needs_full_build'.
 */
export async function createBackend(
  backends: Backends,
  engine: EdgeEngineName,
  bytes: Uint8Array,
  optimized: boolean,
  load: EngineLoadOptions = {},
): Promise<InferenceRunner> {
  if (engine === ENGINES.ortWeb) {
    if (!backends.ort) throw needsFullBuild('this version', 'onnxruntime-web was asked for');
    return backends.ort(bytes, optimized);
  }
  return createCheckedEngineRunner(bytes, kernelModules(), load);
}
