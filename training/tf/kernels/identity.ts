/**
 * Identity for tfjs-backend-wasm that shares the input's buffer (one more reference) instead of
 * copying it, as the cpu backend's does. While the tape records, tfjs clones every tensor a
 * gradient will need (`saveTensorsForBackwardMode`), and the shipped kernel copies each one:
 * whole activations and weights on every training step. Sharing is safe because no wasm kernel
 * writes into its inputs (outputs are always fresh buffers, and a Variable's assign swaps its
 * buffer rather than writing it); the shipped Reshape shares buffers the same way.
 */
import type { IdentityInputs, KernelConfig } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { replacing, type TensorInfo } from './wasm-ops.ts';

type Args = { inputs: IdentityInputs; backend: BackendWasm };

export function identityConfig(shipped: KernelConfig): KernelConfig {
  const fallback = shipped.kernelFunc as unknown as (args: Args) => TensorInfo;
  const kernelFunc = (args: Args): TensorInfo => {
    const x = args.inputs.x as TensorInfo;
    // Strings live in JS, not in the wasm heap: the shipped kernel handles them.
    if (x.dtype === 'string') return fallback(args);
    args.backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
  return replacing(shipped, kernelFunc);
}
