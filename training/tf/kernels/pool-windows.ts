/**
 * The pooling geometry both pool-gradient replacements take their fast path on: windows that do
 * not overlap (filter = stride), start at the top-left corner (no padding before) and lie wholly
 * inside the input (no dilation, no window past its edge). Each input element is then in at most
 * one window, so a gradient is written window by window, never summed.
 */
import { backend_util, type KernelConfig } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { replacing, type TensorInfo } from './wasm-ops.ts';

interface PoolGradArgs {
  inputs: { dy?: TensorInfo; input?: TensorInfo };
  attrs: {
    filterSize: [number, number] | number;
    strides: [number, number] | number;
    pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  backend: BackendWasm;
}

/** Views of a fast-path call's tensors, taken after dx was allocated (growing memory detaches views). */
export interface PoolGradViews {
  info: backend_util.Conv2DInfo;
  x: Float32Array;
  dy: Float32Array;
  /** The input gradient, zero-filled: elements outside every window stay 0. */
  dx: Float32Array;
}

/**
 * A replacement for the pool gradient `shipped` that runs `write` where the windows do not overlap
 * (on float32 NHWC input) and the shipped kernel everywhere else.
 */
export function nonOverlappingPoolGrad(
  shipped: KernelConfig,
  write: (v: PoolGradViews) => void,
): KernelConfig {
  const fallback = shipped.kernelFunc as unknown as (args: PoolGradArgs) => TensorInfo;
  const kernelFunc = (args: PoolGradArgs): TensorInfo => {
    const { inputs, attrs, backend } = args;
    const dy = inputs.dy!;
    const input = inputs.input!;
    if (input.shape.length !== 4 || input.dtype !== 'float32') return fallback(args);
    const info = backend_util.computePool2DInfo(
      input.shape as [number, number, number, number],
      attrs.filterSize,
      attrs.strides,
      1,
      attrs.pad,
      attrs.dimRoundingMode,
    );
    const fits =
      info.filterHeight === info.strideHeight &&
      info.filterWidth === info.strideWidth &&
      info.padInfo.top === 0 &&
      info.padInfo.left === 0 &&
      info.dilationHeight === 1 &&
      info.dilationWidth === 1 &&
      info.outHeight * info.strideHeight <= info.inHeight &&
      info.outWidth * info.strideWidth <= info.inWidth;
    if (!fits) return fallback(args);
    const out = backend.makeOutput(input.shape, input.dtype);
    const dx = backend.typedArrayFromHeap(out) as Float32Array;
    dx.fill(0);
    write({
      info,
      x: backend.typedArrayFromHeap(input) as Float32Array,
      dy: backend.typedArrayFromHeap(dy) as Float32Array,
      dx,
    });
    return out;
  };
  return replacing(shipped, kernelFunc);
}
