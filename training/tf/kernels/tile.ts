/**
 * A faster Tile for tfjs-backend-wasm. BatchNorm's gradient tiles per-channel vectors to the full
 * activation shape on every step, and the shipped kernel (an element-by-element index loop) was
 * the second-slowest part of training. This one copies each innermost row once and then doubles
 * whole blocks with `copyWithin` (memmove). Exact: it only moves values.
 */
import type { KernelConfig, TileAttrs, TileInputs } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { replacing, type TensorInfo } from './wasm-ops.ts';

type Args = { inputs: TileInputs; attrs: TileAttrs; backend: BackendWasm };

export function tileConfig(shipped: KernelConfig): KernelConfig {
  const fallback = shipped.kernelFunc as unknown as (args: Args) => TensorInfo;
  const kernelFunc = (args: Args): TensorInfo => {
    const { inputs, attrs, backend } = args;
    const x = inputs.x as TensorInfo;
    const reps = attrs.reps;
    if (x.dtype === 'string' || x.shape.length === 0 || reps.length !== x.shape.length) return fallback(args);
    const inShape = x.shape;
    const outShape = inShape.map((d, i) => d * reps[i]!);
    const out = backend.makeOutput(outShape, x.dtype);
    if (outShape.some((d) => d === 0)) return out;
    const src = backend.typedArrayFromHeap(x);
    const dst = backend.typedArrayFromHeap(out);
    const rank = inShape.length;
    // Element strides of input and output.
    const inStride = new Array<number>(rank).fill(1);
    const outStride = new Array<number>(rank).fill(1);
    for (let a = rank - 2; a >= 0; a--) {
      inStride[a] = inStride[a + 1]! * inShape[a + 1]!;
      outStride[a] = outStride[a + 1]! * outShape[a + 1]!;
    }
    const fill = (axis: number, inOff: number, outOff: number): void => {
      const d = inShape[axis]!;
      if (axis === rank - 1) {
        if (d === 1) {
          dst.fill(src[inOff]!, outOff, outOff + reps[axis]!);
          return;
        }
        dst.set(src.subarray(inOff, inOff + d), outOff);
      } else {
        for (let i = 0; i < d; i++)
          fill(axis + 1, inOff + i * inStride[axis]!, outOff + i * outStride[axis]!);
      }
      // Replicate the block just written reps[axis]−1 times, doubling the copied span each pass.
      const block = d * outStride[axis]!;
      const total = block * reps[axis]!;
      for (let have = block; have < total; have *= 2) {
        dst.copyWithin(outOff + have, outOff, outOff + Math.min(have, total - have));
      }
    };
    fill(0, 0, 0);
    return out;
  };
  return replacing(shipped, kernelFunc);
}
