/**
 * A faster MaxPoolGrad for tfjs-backend-wasm where pooling windows do not overlap (filter =
 * stride, no padding before, no dilation) — the scratch CNN's 2×2 pools, which every one of its
 * training steps back-propagates through. The shipped kernel visits every window position of every
 * input element (~3–5× the time of this one, about a tenth of a scratch CNN's step); here each
 * window is scanned once and its output gradient written to its own elements.
 *
 * Exact, quirks included: the shipped kernel takes as a window's max the LAST element ≥ its
 * initial value, which is float32's smallest normal (FLT_MIN, not −∞), with flat offset 0 as the
 * position when none is (a window of zeros or negatives — after a ReLU, many — gets no gradient);
 * and it writes 0 + dy·mask, so −0 becomes +0 and a NaN dy spreads over its whole window.
 */
import type { KernelConfig } from '@tensorflow/tfjs';
import { nonOverlappingPoolGrad } from './pool-windows.ts';

/** The shipped kernel's starting max: float32's smallest positive normal number. */
const FLT_MIN = 2 ** -126;

export function maxPoolGradConfig(shipped: KernelConfig): KernelConfig {
  return nonOverlappingPoolGrad(shipped, ({ info, x, dy: g, dx: out }) => {
    const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
    const { batchSize, inHeight: ih, inWidth: iw, inChannels: c, outHeight: oh, outWidth: ow } = info;
    const rowStep = iw * c;
    for (let b = 0; b < batchSize; b++) {
      for (let r = 0; r < oh; r++) {
        for (let q = 0; q < ow; q++) {
          const from = ((b * oh + r) * ow + q) * c;
          const corner = ((b * ih + r * sh) * iw + q * sw) * c;
          for (let k = 0; k < c; k++) {
            let best = FLT_MIN;
            let at = 0;
            for (let i = 0; i < fh; i++) {
              for (let j = 0; j < fw; j++) {
                const e = corner + i * rowStep + j * c + k;
                const v = x[e]!;
                if (v >= best) {
                  best = v;
                  at = e;
                }
              }
            }
            const d = g[from + k]!;
            for (let i = 0; i < fh; i++) {
              for (let j = 0; j < fw; j++) {
                const e = corner + i * rowStep + j * c + k;
                out[e] = 0 + d * (e === at ? 1 : 0);
              }
            }
          }
        }
      }
    }
  });
}
