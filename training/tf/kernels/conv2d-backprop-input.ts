/**
 * A faster Conv2DBackpropInput for tfjs-backend-wasm: the shipped kernel is a plain C loop and was
 * the slowest part of training here (~1/3 of a step). The input gradient of a convolution is a
 * convolution of dy — zero-dilated by the stride — with the filter rotated 180° and its channel
 * axes swapped, which XNNPACK's forward conv does with SIMD:
 *
 *   dx = conv(dilate(dy, s), rot180(W)ᵀ, stride 1, pad [KH−1−pt, …])
 *
 * Cases that would need negative padding fall back to the shipped kernel.
 */
import {
  backend_util,
  type Conv2DBackpropInputAttrs,
  type Conv2DBackpropInputInputs,
  type KernelConfig,
} from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { f32, release, replacing, runWasmKernel, type TensorInfo, transpose } from './wasm-ops.ts';

type Args = { inputs: Conv2DBackpropInputInputs; attrs: Conv2DBackpropInputAttrs; backend: BackendWasm };

/** Returns the replacement, delegating unsupported cases to `shipped`. */
export function conv2DBackpropInputConfig(shipped: KernelConfig): KernelConfig {
  const fallback = shipped.kernelFunc as unknown as (args: Args) => TensorInfo;
  const kernelFunc = (args: Args): TensorInfo => {
    const { inputs, attrs, backend } = args;
    const dy = inputs.dy as TensorInfo;
    const filter = inputs.filter as TensorInfo;
    if (attrs.dataFormat === 'NCHW') return fallback(args);
    const info = backend_util.computeConv2DInfo(
      attrs.inputShape,
      filter.shape as [number, number, number, number],
      attrs.strides,
      1,
      attrs.pad,
      attrs.dimRoundingMode,
    );
    const { batchSize, inHeight: H, inWidth: W, outHeight: OH, outWidth: OW, outChannels: CO } = info;
    const { filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw } = info;
    const dh = (OH - 1) * sh + 1;
    const dw = (OW - 1) * sw + 1;
    const padTop = KH - 1 - info.padInfo.top;
    const padLeft = KW - 1 - info.padInfo.left;
    const padBottom = H - dh + KH - 1 - padTop;
    const padRight = W - dw + KW - 1 - padLeft;
    if (Math.min(padTop, padLeft, padBottom, padRight) < 0) return fallback(args);

    const dilated = sh === 1 && sw === 1 ? dy : dilate(backend, dy, batchSize, OH, OW, CO, sh, sw);
    const flipped = runWasmKernel(backend, 'Reverse', { x: filter }, { dims: [0, 1] });
    const rotated = transpose(backend, flipped, [0, 1, 3, 2]);
    release(backend, flipped);
    const dx = runWasmKernel(
      backend,
      'Conv2D',
      { x: dilated, filter: rotated },
      {
        strides: [1, 1],
        dilations: [1, 1],
        pad: [
          [0, 0],
          [padTop, padBottom],
          [padLeft, padRight],
          [0, 0],
        ],
        dataFormat: 'NHWC',
        dimRoundingMode: undefined,
      },
    );
    release(backend, rotated);
    if (dilated !== dy) release(backend, dilated);
    return dx;
  };
  return replacing(shipped, kernelFunc);
}

/** Inserts s−1 zero rows/columns between dy's pixels. */
function dilate(
  backend: BackendWasm,
  dy: TensorInfo,
  n: number,
  oh: number,
  ow: number,
  c: number,
  sh: number,
  sw: number,
): TensorInfo {
  const h = (oh - 1) * sh + 1;
  const w = (ow - 1) * sw + 1;
  const out = backend.makeOutput([n, h, w, c], 'float32');
  const src = f32(backend, dy);
  const dst = f32(backend, out);
  dst.fill(0);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < oh; y++) {
      for (let x = 0; x < ow; x++) {
        const from = ((b * oh + y) * ow + x) * c;
        dst.set(src.subarray(from, from + c), ((b * h + y * sh) * w + x * sw) * c);
      }
    }
  }
  return out;
}
