/**
 * Sliding-window arithmetic (Conv, MaxPool, AveragePool): padding and output size per spatial
 * axis. The one implementation used by the engine's lowering, ONNX shape inference and the
 * Keras→ONNX converter, so the three can never disagree about where a window starts.
 */
import { attrInts, attrString } from './attributes.ts';
import type { NodeProto } from './proto.ts';

/** ONNX `auto_pad`. SAME_* pad so that out = ceil(in / stride); UPPER puts the odd pixel at the end. */
export type AutoPad = 'NOTSET' | 'VALID' | 'SAME_UPPER' | 'SAME_LOWER';

/** Extent of a dilated kernel along one axis. */
export function windowSpan(kernel: number, dilation: number): number {
  return (kernel - 1) * dilation + 1;
}

/**
 * [begin, end] padding of one axis for "same" output size (TF "same" = ONNX SAME_UPPER; SAME_LOWER
 * puts the odd extra pixel at the beginning instead).
 */
export function samePadding1d(
  inSize: number,
  kernel: number,
  stride: number,
  dilation: number,
  lower = false,
): [number, number] {
  const outSize = Math.ceil(inSize / stride);
  const total = Math.max((outSize - 1) * stride + windowSpan(kernel, dilation) - inSize, 0);
  const begin = lower ? Math.ceil(total / 2) : Math.floor(total / 2);
  return [begin, total - begin];
}

/**
 * Output size of one axis given explicit pads. With `ceilMode` the last window must still start
 * inside the input or the begin padding (the ONNX/PyTorch rule).
 */
export function outputSize1d(
  inSize: number,
  kernel: number,
  stride: number,
  dilation: number,
  pads: readonly [number, number],
  ceilMode = false,
): number {
  const room = inSize + pads[0] + pads[1] - windowSpan(kernel, dilation);
  if (!ceilMode) return Math.floor(room / stride) + 1;
  let out = Math.ceil(room / stride) + 1;
  if ((out - 1) * stride >= inSize + pads[0]) out--;
  return out;
}

/** A window op's attributes for `rank` spatial axes, with ONNX defaults filled in. */
export interface WindowAttrs {
  strides: number[];
  dilations: number[];
  /** Explicit pads [begin..., end...] (zeros when auto_pad is set). */
  pads: number[];
  autoPad: AutoPad;
}

export function windowAttrs(node: NodeProto, rank: number): WindowAttrs {
  return {
    strides: attrInts(node, 'strides') ?? Array(rank).fill(1),
    dilations: attrInts(node, 'dilations') ?? Array(rank).fill(1),
    pads: attrInts(node, 'pads') ?? Array(2 * rank).fill(0),
    autoPad: attrString(node, 'auto_pad', 'NOTSET') as AutoPad,
  };
}

/** Explicit 2-D pads [top, left, bottom, right] for a window over h × w, honouring auto_pad. */
export function windowPads2d(
  node: NodeProto,
  h: number,
  w: number,
  kernel: readonly [number, number],
  strides: readonly [number, number],
  dilations: readonly [number, number],
): [number, number, number, number] {
  const { pads, autoPad } = windowAttrs(node, 2);
  if (autoPad === 'NOTSET') return [pads[0] ?? 0, pads[1] ?? 0, pads[2] ?? 0, pads[3] ?? 0];
  if (autoPad === 'VALID') return [0, 0, 0, 0];
  const lower = autoPad === 'SAME_LOWER';
  const [top, bottom] = samePadding1d(h, kernel[0], strides[0], dilations[0], lower);
  const [left, right] = samePadding1d(w, kernel[1], strides[1], dilations[1], lower);
  return [top, left, bottom, right];
}

/**
 * Output size of spatial axis `i` of a window node, as ONNX shape inference defines it
 * (SAME_* gives ceil(in / stride) without needing the pads).
 */
export function windowOutputSize(
  attrs: WindowAttrs,
  i: number,
  inSize: number,
  kernel: number,
  ceilMode: boolean,
): number {
  const rank = attrs.strides.length;
  const s = attrs.strides[i]!;
  if (attrs.autoPad === 'SAME_UPPER' || attrs.autoPad === 'SAME_LOWER') return Math.ceil(inSize / s);
  const pads: [number, number] = attrs.autoPad === 'VALID' ? [0, 0] : [attrs.pads[i]!, attrs.pads[i + rank]!];
  return outputSize1d(inSize, kernel, s, attrs.dilations[i]!, pads, attrs.autoPad !== 'VALID' && ceilMode);
}
