/**
 * TensorFlow's "same" padding, made explicit for ONNX.
 *
 * TF pads so that out = ceil(in / stride) and puts the odd extra pixel at the END (bottom/right).
 * ONNX `auto_pad: SAME_UPPER` means the same thing, but explicit pads are what every runtime
 * (onnxruntime-web included) implements identically, so they are used whenever the input size is
 * static; SAME_UPPER is the fallback for dynamic spatial sizes.
 */
import { samePadding1d } from '../../../shared/onnx/window.ts';

export type PaddingMode = 'same' | 'valid';

export interface SpatialPadding {
  /** ONNX `pads`: [top, left, bottom, right]; absent when `autoPad` is used. */
  pads?: number[];
  autoPad?: 'SAME_UPPER';
}

/**
 * ONNX padding attributes for a 2-D window op. `inHW` holds the static input height/width, or
 * null where unknown (then SAME_UPPER, which ONNX defines exactly like TF "same").
 */
export function spatialPadding(
  mode: PaddingMode,
  inHW: readonly (number | null)[],
  kernel: readonly number[],
  strides: readonly number[],
  dilations: readonly number[] = [1, 1],
): SpatialPadding {
  if (mode === 'valid') return { pads: [0, 0, 0, 0] };
  const [h, w] = inHW;
  if (h == null || w == null) return { autoPad: 'SAME_UPPER' };
  const [top, bottom] = samePadding1d(h, kernel[0], strides[0], dilations[0]);
  const [left, right] = samePadding1d(w, kernel[1], strides[1], dilations[1]);
  return { pads: [top, left, bottom, right] };
}
