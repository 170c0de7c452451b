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
    if (fh === 2 && fw === 2) {
      pool2x2(x, g, out, batchSize, ih, iw, c, oh, ow);
      return;
    }
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

/**
 * The 2×2 case (the scratch CNN's pools) unrolled: the same scan order (row by row, the last
 * element ≥ the running max wins, from FLT_MIN) and the same writes, 0 + dy·1 at the max and
 * 0 + dy·0 elsewhere (+0, or NaN where dy is infinite or NaN).
 */
function pool2x2(
  x: Float32Array,
  g: Float32Array,
  out: Float32Array,
  batchSize: number,
  ih: number,
  iw: number,
  c: number,
  oh: number,
  ow: number,
): void {
  const rowStep = iw * c;
  for (let b = 0; b < batchSize; b++) {
    for (let r = 0; r < oh; r++) {
      for (let q = 0; q < ow; q++) {
        const from = ((b * oh + r) * ow + q) * c;
        const corner = ((b * ih + r * 2) * iw + q * 2) * c;
        for (let k = 0; k < c; k++) {
          const e0 = corner + k;
          const e1 = e0 + c;
          const e2 = e0 + rowStep;
          const e3 = e2 + c;
          let best = FLT_MIN;
          let at = 0;
          let v = x[e0]!;
          if (v >= best) {
            best = v;
            at = e0;
          }
          v = x[e1]!;
          if (v >= best) {
            best = v;
            at = e1;
          }
          v = x[e2]!;
          if (v >= best) {
            best = v;
            at = e2;
          }
          v = x[e3]!;
          if (v >= best) at = e3;
          const d = g[from + k]!;
          const miss = 0 + d * 0;
          out[e0] = miss;
          out[e1] = miss;
          out[e2] = miss;
          out[e3] = miss;
          // With no element ≥ FLT_MIN the shipped kernel's position is flat offset 0, which lies
          // in this window only when it is the first one.
          if (at === e0 || at === e1 || at === e2 || at === e3) out[at] = 0 + d * 1;
        }
      }
    }
  }
}
