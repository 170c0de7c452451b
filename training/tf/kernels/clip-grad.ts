/**
 * ClipByValue's gradient as one wasm-side pass instead of five kernels. A ReLU layer with
 * `maxValue` (MobileNetV2's ReLU6 after `Conv_1`, which every fine-tuning step of a re-trained
 * MobileNetV2 layer back-propagates through) runs relu then clipByValue, and tfjs' gradient of the
 * latter is where(x ≥ min && x ≤ max, dy, zerosLike(dy)): greater-equal, less-equal, logical-and,
 * a fill and a select over the whole activation. Exact: each element is dy or +0, chosen by the
 * same float32 comparisons; other backends keep tfjs' gradient.
 */
import * as tf from '@tensorflow/tfjs';
import type { ClipByValueAttrs, GradConfig, KernelConfig, KernelFunc } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { TensorInfo } from './wasm-ops.ts';
import { wasmGradOfX } from './wasm-grad.ts';

/** The one-pass kernel (not a tfjs kernel name: only the gradient below runs it). */
export const CLIP_GRAD = 'EdgetuneClipByValueGrad';

type Args = { inputs: { x: TensorInfo; dy: TensorInfo }; attrs: ClipByValueAttrs; backend: BackendWasm };

function clipGrad({ inputs, attrs, backend }: Args): TensorInfo {
  const dx = backend.makeOutput(inputs.dy.shape, 'float32');
  // Views after the last allocation: growing wasm memory detaches earlier ones.
  const x = backend.typedArrayFromHeap(inputs.x) as Float32Array;
  const dy = backend.typedArrayFromHeap(inputs.dy) as Float32Array;
  const out = backend.typedArrayFromHeap(dx) as Float32Array;
  // tfjs compares with the bounds as float32 scalars.
  const lo = Math.fround(attrs.clipValueMin);
  const hi = Math.fround(attrs.clipValueMax);
  for (let i = 0; i < out.length; i++) {
    const v = x[i]!;
    out[i] = v >= lo && v <= hi ? dy[i]! : 0;
  }
  return dx;
}

export const clipGradKernelConfig: KernelConfig = {
  kernelName: CLIP_GRAD,
  backendName: 'wasm',
  kernelFunc: clipGrad as unknown as KernelFunc,
};

/** ClipByValue's gradient running CLIP_GRAD on wasm, `shipped` elsewhere. */
export function clipByValueGradConfig(shipped: GradConfig): GradConfig {
  return wasmGradOfX(shipped, (dy, x, attrs) =>
    x.size === dy.size ? () => tf.engine().runKernel(CLIP_GRAD, { x, dy }, attrs) as tf.Tensor : null,
  );
}
