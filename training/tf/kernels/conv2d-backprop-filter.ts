/**
 * Conv2DBackpropFilter for tfjs-backend-wasm (not shipped in 4.22.0), built from the wasm
 * (XNNPACK) forward convolution:
 *
 *   dW[kh,kw,ci,co] = Σ_{b,oy,ox} x[b, oy·s+kh−pt, ox·s+kw−pl, ci] · dy[b,oy,ox,co]
 *
 * is a stride-1 convolution of xᵀ = x[ci,H,W,b] (channels = batch) with the filter
 * dyᵀ = dy[oy,ox,b,co] dilated by the forward stride; its [ci,KH,KW,co] output is transposed back.
 */
import {
  backend_util,
  Conv2DBackpropFilter,
  type Conv2DBackpropFilterAttrs,
  type Conv2DBackpropFilterInputs,
  type KernelConfig,
  type KernelFunc,
} from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { release, runWasmKernel, slice, type TensorInfo, transpose } from './wasm-ops.ts';

function conv2DBackpropFilter(args: {
  inputs: Conv2DBackpropFilterInputs;
  attrs: Conv2DBackpropFilterAttrs;
  backend: BackendWasm;
}): TensorInfo {
  const { inputs, attrs, backend } = args;
  const x = inputs.x as TensorInfo;
  const dy = inputs.dy as TensorInfo;
  if (attrs.dataFormat === 'NCHW') throw new Error('wasm Conv2DBackpropFilter supports NHWC only');
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const { filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co } = info;
  const { inHeight, inWidth, outHeight, outWidth, strideHeight: sh, strideWidth: sw } = info;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  // Extent of dy used as a dilated filter; pad the far side just enough to yield KH×KW outputs
  // (rows the forward conv never reached give extra outputs, sliced off below).
  const extH = (outHeight - 1) * sh + 1;
  const extW = (outWidth - 1) * sw + 1;
  const pb = Math.max(0, kh - 1 + extH - inHeight - pt);
  const pr = Math.max(0, kw - 1 + extW - inWidth - pl);

  const xT = transpose(backend, x, [3, 1, 2, 0]);
  const dyT = transpose(backend, dy, [1, 2, 0, 3]);
  const conv = runWasmKernel(
    backend,
    'Conv2D',
    { x: xT, filter: dyT },
    {
      strides: [1, 1],
      dilations: [sh, sw],
      pad: [
        [0, 0],
        [pt, pb],
        [pl, pr],
        [0, 0],
      ],
      dataFormat: 'NHWC',
      dimRoundingMode: undefined,
    },
  );
  release(backend, xT, dyT);
  let cropped = conv;
  if (conv.shape[1] !== kh || conv.shape[2] !== kw) {
    cropped = slice(backend, conv, [0, 0, 0, 0], [ci, kh, kw, co]);
    release(backend, conv);
  }
  const dw = transpose(backend, cropped, [1, 2, 0, 3]);
  release(backend, cropped);
  return dw;
}

export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter as unknown as KernelFunc,
};
