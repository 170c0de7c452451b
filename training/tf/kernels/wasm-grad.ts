/**
 * A replacement gradient of an op with one saved input `x` (ClipByValue, Mean): `fast` builds the
 * input's gradient on the wasm backend for float32 tensors, or returns null to decline; tfjs'
 * shipped gradient runs everywhere else, so other backends are untouched.
 */
import * as tf from '@tensorflow/tfjs';
import type { GradConfig, NamedAttrMap } from '@tensorflow/tfjs';

export type FastGrad = (dy: tf.Tensor, x: tf.Tensor, attrs: NamedAttrMap) => (() => tf.Tensor) | null;

export function wasmGradOfX(shipped: GradConfig, fast: FastGrad): GradConfig {
  return {
    kernelName: shipped.kernelName,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs: NamedAttrMap) => {
      const [x] = saved;
      const d = dy as tf.Tensor;
      const wasm = tf.getBackend() === 'wasm' && d.dtype === 'float32' && x!.dtype === 'float32';
      const grad = wasm ? fast(d, x!, attrs) : null;
      return grad ? { x: grad } : shipped.gradFunc(dy, saved, attrs);
    },
  };
}
