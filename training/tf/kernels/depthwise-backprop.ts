/**
 * DepthwiseConv2dNativeBackpropFilter / …BackpropInput for tfjs-backend-wasm (not shipped in
 * 4.22.0). A depthwise conv costs only KH·KW multiply-adds per output value, so direct loops over
 * the wasm heap are fast enough; the innermost loop runs over the contiguous channel axis
 * (q = c·M + m is both dy's channel and the filter's flattened [C,M] index). Sums are accumulated
 * in float64 and rounded once, so results match the cpu backend to float32 rounding.
 */
import {
  backend_util,
  DepthwiseConv2dNativeBackpropFilter,
  type DepthwiseConv2dNativeBackpropFilterAttrs,
  type DepthwiseConv2dNativeBackpropFilterInputs,
  DepthwiseConv2dNativeBackpropInput,
  type DepthwiseConv2dNativeBackpropInputAttrs,
  type DepthwiseConv2dNativeBackpropInputInputs,
  type KernelConfig,
  type KernelFunc,
} from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { f32, type TensorInfo } from './wasm-ops.ts';

type Shape4 = [number, number, number, number];

function depthwiseBackpropFilter(args: {
  inputs: DepthwiseConv2dNativeBackpropFilterInputs;
  attrs: DepthwiseConv2dNativeBackpropFilterAttrs;
  backend: BackendWasm;
}): TensorInfo {
  const { inputs, attrs, backend } = args;
  const x = inputs.x as TensorInfo;
  const dy = inputs.dy as TensorInfo;
  const info = backend_util.computeConv2DInfo(
    x.shape as Shape4,
    attrs.filterShape,
    attrs.strides,
    attrs.dilations,
    attrs.pad,
    attrs.dimRoundingMode,
    true,
  );
  const { batchSize, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const { filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw } = info;
  const { dilationHeight: dh, dilationWidth: dw } = info;
  const M = info.outChannels / C;
  const Q = C * M;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;

  const acc = new Float64Array(KH * KW * Q);
  const out = backend.makeOutput(attrs.filterShape, 'float32');
  const xv = f32(backend, x);
  const dyv = f32(backend, dy);
  for (let b = 0; b < batchSize; b++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        const yBase = ((b * OH + oy) * OW + ox) * Q;
        for (let i = 0; i < KH; i++) {
          const iy = oy * sh + i * dh - pt;
          if (iy < 0 || iy >= H) continue;
          for (let j = 0; j < KW; j++) {
            const ix = ox * sw + j * dw - pl;
            if (ix < 0 || ix >= W) continue;
            const xBase = ((b * H + iy) * W + ix) * C;
            const wBase = (i * KW + j) * Q;
            if (M === 1) {
              for (let q = 0; q < Q; q++) acc[wBase + q] += xv[xBase + q] * dyv[yBase + q];
            } else {
              for (let q = 0; q < Q; q++) acc[wBase + q] += xv[xBase + ((q / M) | 0)] * dyv[yBase + q];
            }
          }
        }
      }
    }
  }
  f32(backend, out).set(acc);
  return out;
}

function depthwiseBackpropInput(args: {
  inputs: DepthwiseConv2dNativeBackpropInputInputs;
  attrs: DepthwiseConv2dNativeBackpropInputAttrs;
  backend: BackendWasm;
}): TensorInfo {
  const { inputs, attrs, backend } = args;
  const dy = inputs.dy as TensorInfo;
  const filter = inputs.filter as TensorInfo;
  const info = backend_util.computeConv2DInfo(
    attrs.inputShape,
    filter.shape as Shape4,
    attrs.strides,
    attrs.dilations,
    attrs.pad,
    attrs.dimRoundingMode,
    true,
  );
  const { batchSize, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const { filterHeight: KH, filterWidth: KW, strideHeight: sh, strideWidth: sw } = info;
  const { dilationHeight: dh, dilationWidth: dw } = info;
  const M = info.outChannels / C;
  const Q = C * M;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;

  const acc = new Float64Array(batchSize * H * W * C);
  const out = backend.makeOutput(attrs.inputShape, 'float32');
  const dyv = f32(backend, dy);
  const wv = f32(backend, filter);
  // Scatter each dy value back onto the inputs it was computed from.
  for (let b = 0; b < batchSize; b++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        const yBase = ((b * OH + oy) * OW + ox) * Q;
        for (let i = 0; i < KH; i++) {
          const iy = oy * sh + i * dh - pt;
          if (iy < 0 || iy >= H) continue;
          for (let j = 0; j < KW; j++) {
            const ix = ox * sw + j * dw - pl;
            if (ix < 0 || ix >= W) continue;
            const xBase = ((b * H + iy) * W + ix) * C;
            const wBase = (i * KW + j) * Q;
            if (M === 1) {
              for (let q = 0; q < Q; q++) acc[xBase + q] += dyv[yBase + q] * wv[wBase + q];
            } else {
              for (let q = 0; q < Q; q++) acc[xBase + ((q / M) | 0)] += dyv[yBase + q] * wv[wBase + q];
            }
          }
        }
      }
    }
  }
  f32(backend, out).set(acc);
  return out;
}

export const depthwiseBackpropFilterConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropFilter,
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropFilter as unknown as KernelFunc,
};

export const depthwiseBackpropInputConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropInput,
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropInput as unknown as KernelFunc,
};
