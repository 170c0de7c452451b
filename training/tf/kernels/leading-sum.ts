/**
 * Sum and Mean over leading axes ([R × C] → [C]) for tfjs-backend-wasm. The shipped kernels
 * transpose the reduced axes to the end (tfjs-wasm's Transpose, a large share of a training step:
 * every bias and BatchNorm gradient sums an NHWC tensor over N, H, W) and then sum each row in
 * order. Here the SIMD kernel (kernels/training-kernels.wat) reads the tensor in place, lanes
 * across C and r in order, so each output is the same sequence of float32 additions from 0 — and
 * Mean's same division by R — bit for bit. Other axes, dtypes and empty tensors take the shipped
 * kernel.
 */
import {
  backend_util,
  type KernelConfig,
  type MeanAttrs,
  type SumAttrs,
  type SumInputs,
  util,
} from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heapOffset, trainingKernels } from './simd.ts';
import { replacing, type TensorInfo } from './wasm-ops.ts';

type Args = { inputs: SumInputs; attrs: SumAttrs | MeanAttrs; backend: BackendWasm };

function leadingReduceConfig(shipped: KernelConfig, mean: boolean): KernelConfig {
  const fallback = shipped.kernelFunc as unknown as (args: Args) => TensorInfo;
  const kernelFunc = (args: Args): TensorInfo => {
    const { inputs, attrs, backend } = args;
    const x = inputs.x as TensorInfo;
    const simd = trainingKernels(backend);
    if (simd === null || x.dtype !== 'float32') return fallback(args);
    const rank = x.shape.length;
    const axes = util.parseAxisParam(attrs.axis, x.shape);
    const lead = axes.length;
    // Only a leading prefix given in order — the shipped kernels sum the reduced axes in the order
    // given (axis [1, 0] runs axis 0 fastest) — and not all axes (those need no transpose).
    if (lead === 0 || lead === rank || axes.some((a, i) => a !== i)) return fallback(args);
    const rows = util.sizeFromShape(x.shape.slice(0, lead));
    const kept = x.shape.slice(lead);
    const cols = util.sizeFromShape(kept);
    if (rows * cols === 0) return fallback(args);
    const outShape = attrs.keepDims ? backend_util.expandShapeToKeepDim(kept, axes) : kept;
    const out = backend.makeOutput(outShape, 'float32');
    simd.sumRows(heapOffset(backend, x), heapOffset(backend, out), rows, cols, mean ? 1 : 0);
    return out;
  };
  return replacing(shipped, kernelFunc);
}

export const leadingSumConfig = (shipped: KernelConfig): KernelConfig => leadingReduceConfig(shipped, false);
export const leadingMeanConfig = (shipped: KernelConfig): KernelConfig => leadingReduceConfig(shipped, true);
