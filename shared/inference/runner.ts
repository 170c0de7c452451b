/**
 * One interface for running a model, whatever runs it (the way onnxruntime-common puts one
 * `InferenceSession` in front of its backends): the edgetune engine (`engine-runner.ts`),
 * onnxruntime-web (`ort-web-runner.ts`) and onnxruntime-node (training/inference/ort-node-runner.ts,
 * Node only). The edge, the export gates, evaluation and the benches hold an `InferenceRunner`
 * and never care which runtime answers.
 */
import type { EngineName } from './engines.ts';

export interface RunnerTensor {
  data: Float32Array;
  dims: readonly number[];
}

export interface InferenceRunner {
  readonly engine: EngineName;
  /** Which build of the runtime: the engine's kernels ('relaxed' | 'simd'), 'wasm', 'cpu', 'cuda'. */
  readonly variant: string;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Bytes this session keeps resident, for a cache budget (may grow with new batch sizes). */
  heapBytes(): number;
  /** Runs one float32 input (NCHW for images); returns the float32 outputs by name. */
  run(input: string, data: Float32Array, dims: readonly number[]): Promise<Record<string, RunnerTensor>>;
  release(): Promise<void>;
}
