/**
 * The one vocabulary for the runtimes a model runs on, used by manifests, the edge, training and
 * the benches alike.
 */
export const ENGINES = {
  /** edgetune's own WebAssembly SIMD CNN engine (shared/engine). */
  wasm: 'edgetune-wasm',
  /** onnxruntime's WebAssembly build: the edge's general runtime (full Worker build only). */
  ortWeb: 'onnxruntime-web',
  /** onnxruntime's native build: training, export gates, evaluation (Node only). */
  ortNode: 'onnxruntime-node',
} as const;

export type EngineName = (typeof ENGINES)[keyof typeof ENGINES];

/**
 * What a manifest's `engines` list may hold: the runtimes a version passed parity on. Both
 * onnxruntime builds run the same graph with the same kernels, so one id covers them.
 */
export const ENGINE_IDS = { onnxruntime: 'onnxruntime', wasm: ENGINES.wasm } as const;

export type EngineId = (typeof ENGINE_IDS)[keyof typeof ENGINE_IDS];

/** The manifest id that lets a version run on `engine`. */
export function engineIdOf(engine: EngineName): EngineId {
  return engine === ENGINES.wasm ? ENGINE_IDS.wasm : ENGINE_IDS.onnxruntime;
}
