/**
 * A faster AvgPoolGrad for tfjs-backend-wasm where pooling windows do not overlap (filter =
 * stride, 'valid', no dilation) — MobileNetV2's 7×7 average pool before `flatten_1`, which every
 * fine-tuning step of a re-trained MobileNetV2 layer back-propagates through. The shipped kernel
 * loops over every window position of every input element (~65 ms of CPU for a batch of 32 at
 * 7×7×1280, a fifth of such a step; ~28 ms here); here each output gradient is written to its
 * own window once. Exact: every input element gets one dy · (1/area)
 * (or 0 outside all windows), the single float32 product the shipped kernel computes.
 */
import {
  type AvgPoolGradAttrs,
  type AvgPoolGradInputs,
  AvgPoolGrad,
  backend_util,
  type KernelConfig,
  type KernelFunc,
} from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { TensorInfo } from './wasm-ops.ts';

type Args = { inputs: AvgPoolGradInputs; attrs: AvgPoolGradAttrs; backend: BackendWasm };

export function avgPoolGradConfig(shipped: KernelConfig): KernelConfig {
  const fallback = shipped.kernelFunc as unknown as (args: Args) => TensorInfo;
  const kernelFunc = (args: Args): TensorInfo => {
    const { inputs, attrs, backend } = args;
    const dy = inputs.dy as TensorInfo;
    const input = inputs.input as TensorInfo;
    if (input.shape.length !== 4 || input.dtype !== 'float32') return fallback(args);
    const info = backend_util.computePool2DInfo(
      input.shape as [number, number, number, number],
      attrs.filterSize,
      attrs.strides,
      1,
      attrs.pad,
    );
    const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
    const nonOverlapping =
      fh === sh &&
      fw === sw &&
      info.padInfo.top === 0 &&
      info.padInfo.left === 0 &&
      info.dilationHeight === 1 &&
      info.dilationWidth === 1 &&
      info.outHeight * sh <= info.inHeight &&
      info.outWidth * sw <= info.inWidth;
    if (!nonOverlapping) return fallback(args);
    const dx = backend.makeOutput(input.shape, input.dtype);
    // Views after the last allocation: growing wasm memory detaches earlier ones.
    const src = backend.typedArrayFromHeap(dy) as Float32Array;
    const dst = backend.typedArrayFromHeap(dx) as Float32Array;
    dst.fill(0);
    const m = Math.fround(1 / (fh * fw));
    const { batchSize, inHeight: ih, inWidth: iw, inChannels: c, outHeight: oh, outWidth: ow } = info;
    for (let b = 0; b < batchSize; b++) {
      for (let r = 0; r < oh; r++) {
        for (let q = 0; q < ow; q++) {
          const from = ((b * oh + r) * ow + q) * c;
          for (let i = 0; i < fh; i++) {
            for (let j = 0; j < fw; j++) {
              const to = ((b * ih + r * sh + i) * iw + q * sw + j) * c;
              for (let k = 0; k < c; k++) dst[to + k] = src[from + k]! * m;
            }
          }
        }
      }
    }
    return dx;
  };
  return {
    kernelName: AvgPoolGrad,
    backendName: 'wasm',
    setupFunc: shipped.setupFunc,
    kernelFunc: kernelFunc as unknown as KernelFunc,
  };
}
