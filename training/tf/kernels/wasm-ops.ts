/**
 * Small helpers for writing tfjs-backend-wasm kernels out of other wasm kernels.
 *
 * Why TensorInfos and not tf ops: a kernel that builds its result with `tf.*` ops and returns a
 * `tf.keep`-ed tensor is never freed (the engine wraps the returned tensor as is, and the keep
 * outlives every scope) — FACTS.md measured ~95 MB lost per epoch. Calling the backend's own kernel
 * functions yields bare TensorInfos with refCount 1 that the engine adopts as the op's output;
 * every intermediate is released here with `backend.disposeData`.
 */
import type * as tf from '@tensorflow/tfjs';
import { getKernel, type KernelConfig, type KernelFunc } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export type TensorInfo = tf.TensorInfo;

/** Runs a kernel registered for `wasm` and returns its (single) output. */
export function runWasmKernel(
  backend: BackendWasm,
  name: string,
  inputs: Record<string, TensorInfo>,
  attrs: Record<string, unknown> = {},
): TensorInfo {
  const kernel = getKernel(name, 'wasm');
  if (kernel === undefined) throw new Error(`wasm kernel '${name}' is not registered`);
  const out = kernel.kernelFunc({
    inputs: inputs as tf.NamedTensorInfoMap,
    attrs: attrs as tf.NamedAttrMap,
    backend,
  });
  if (Array.isArray(out)) throw new Error(`wasm kernel '${name}' returned several outputs`);
  return out;
}

export function transpose(backend: BackendWasm, x: TensorInfo, perm: number[]): TensorInfo {
  return runWasmKernel(backend, 'Transpose', { x }, { perm });
}

export function reshape(backend: BackendWasm, x: TensorInfo, shape: number[]): TensorInfo {
  return runWasmKernel(backend, 'Reshape', { x }, { shape });
}

export function slice(backend: BackendWasm, x: TensorInfo, begin: number[], size: number[]): TensorInfo {
  return runWasmKernel(backend, 'Slice', { x }, { begin, size });
}

/** Releases intermediates (refCount − 1; freed at 0). */
export function release(backend: BackendWasm, ...infos: TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

/**
 * A Float32Array view over a tensor's wasm memory. Take views only after the last allocation of a
 * kernel: growing wasm memory detaches earlier views.
 */
export function f32(backend: BackendWasm, info: TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(info) as Float32Array;
}

/**
 * The config of a replacement for the shipped wasm kernel `shipped`: same name, and its setup
 * (which binds the wasm functions the fallback calls) still runs.
 */
export function replacing<A>(shipped: KernelConfig, kernelFunc: (args: A) => TensorInfo): KernelConfig {
  return {
    kernelName: shipped.kernelName,
    backendName: 'wasm',
    setupFunc: shipped.setupFunc,
    kernelFunc: kernelFunc as unknown as KernelFunc,
  };
}
