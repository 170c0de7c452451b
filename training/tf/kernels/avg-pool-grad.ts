/**
 * A faster AvgPoolGrad for tfjs-backend-wasm where pooling windows do not overlap (filter =
 * stride, 'valid', no dilation) — MobileNetV2's 7×7 average pool before `flatten_1`, which every
 * fine-tuning step of a re-trained MobileNetV2 layer back-propagates through. The shipped kernel
 * loops over every window position of every input element (~65 ms of CPU for a batch of 32 at
 * 7×7×1280, a fifth of such a step; ~28 ms here); here each output gradient is written to its
 * own window once. Exact: every input element gets one dy · (1/area)
 * (or 0 outside all windows), the single float32 product the shipped kernel computes.
 */
import type { KernelConfig } from '@tensorflow/tfjs';
import { nonOverlappingPoolGrad } from './pool-windows.ts';

export function avgPoolGradConfig(shipped: KernelConfig): KernelConfig {
  return nonOverlappingPoolGrad(shipped, ({ info, dy: src, dx: dst }) => {
    const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
    const m = Math.fround(1 / (fh * fw));
    const { batchSize, inHeight: ih, inWidth: iw, inChannels: c, outHeight: oh, outWidth: ow } = info;
    // A window's elements all get the same c values: computed once, then copied to each pixel.
    const share = new Float32Array(c);
    for (let b = 0; b < batchSize; b++) {
      for (let r = 0; r < oh; r++) {
        for (let q = 0; q < ow; q++) {
          const from = ((b * oh + r) * ow + q) * c;
          for (let k = 0; k < c; k++) share[k] = src[from + k]! * m;
          for (let i = 0; i < fh; i++) {
            for (let j = 0; j < fw; j++) dst.set(share, ((b * ih + r * sh + i) * iw + q * sw + j) * c);
          }
        }
      }
    }
  });
}
