/**
 * Mean's gradient without the ones tensor. tfjs computes dx = (dy · ones(x.shape)) / n, and
 * `ones` fills a Float32Array of x's size in a JavaScript loop: for BatchNorm's moments (two means
 * over the whole activation per BN layer per training step) that fill was 8 % of a scratch-CNN
 * split's CPU time at 64 px. Here dy / n (reduced shape) is broadcast to x's shape by Tile. Exact:
 * every element is the same float32 quotient dy_i / n (dy · 1 = dy); other backends keep tfjs'
 * gradient.
 */
import * as tf from '@tensorflow/tfjs';
import type { GradConfig, MeanAttrs } from '@tensorflow/tfjs';
import { wasmGradOfX } from './wasm-grad.ts';

/** Mean's gradient broadcasting dy / n on wasm, `shipped` elsewhere. */
export function meanGradConfig(shipped: GradConfig): GradConfig {
  return wasmGradOfX(shipped, (dy, x, attrs) => {
    const axes = tf.util.parseAxisParam((attrs as unknown as MeanAttrs).axis, x.shape);
    const [, reduceShape] = tf.backend_util.computeOutAndReduceShapes(x.shape, axes);
    const n = tf.util.sizeFromShape(reduceShape);
    const expanded = x.shape.slice();
    for (const a of axes) expanded[a] = 1;
    return () => tf.broadcastTo(tf.div(tf.reshape(dy, expanded), n), x.shape);
  });
}
