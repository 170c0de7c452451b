/**
 * A conv layer that reads the trainable model's input computes no gradient for that input.
 * tfjs' fused conv (what a Conv2D layer runs) computes its input gradient and its filter gradient
 * together in one custom gradient, whether or not anything reads the former; for the first
 * re-trained conv nothing does (its input is the frozen boundary's activations), and that unread
 * gradient was ~30% of a fine-tuning step on MobileNetV2's Conv_1. The filter and bias gradients
 * are computed by the same kernels and reductions tfjs uses, so training gives the same numbers.
 */
import * as tf from '@tensorflow/tfjs';

interface Conv2DInternals {
  kernel: tf.LayerVariable;
  bias: tf.LayerVariable | null;
  strides: number[];
  padding: string;
  dataFormat: string;
  dilationRate: number[];
  activation: { getClassName(): string };
  rank: number;
}

/** Whether `layer` is a plain 2-D Conv2D this file can run (channels-last, linear, no dilation). */
function supported(layer: tf.layers.Layer): boolean {
  if (layer.getClassName() !== 'Conv2D') return false;
  const c = layer as unknown as Conv2DInternals;
  return (
    c.rank === 2 &&
    c.dataFormat === 'channelsLast' &&
    c.activation.getClassName() === 'linear' &&
    (c.padding === 'same' || c.padding === 'valid') &&
    c.dilationRate.every((d) => d === 1)
  );
}

/**
 * Makes `layer` (built, applied to the model input only) skip its input gradient; false, and
 * nothing changed, when the layer is not a kind this handles.
 */
export function skipInputGradient(layer: tf.layers.Layer): boolean {
  if (!supported(layer)) return false;
  const c = layer as unknown as Conv2DInternals;
  const strides = c.strides as [number, number];
  const pad = c.padding as 'same' | 'valid';
  const conv = (x: tf.Tensor4D, filter: tf.Tensor4D, bias?: tf.Tensor1D) =>
    tf.fused.conv2d({ x, filter, strides, pad, dataFormat: 'NHWC', dilations: [1, 1], bias });
  const filterGrad = (x: tf.Tensor4D, dy: tf.Tensor4D, filter: tf.Tensor4D) =>
    tf
      .engine()
      .runKernel(
        'Conv2DBackpropFilter',
        { x, dy },
        { strides, pad, dataFormat: 'NHWC', filterShape: filter.shape },
      ) as tf.Tensor4D;
  // The input's gradient is returned as zeros of its shape: tfjs requires one per input, and
  // nothing upstream of the model input reads it.
  const withBias = tf.customGrad(((
    x: tf.Tensor4D,
    filter: tf.Tensor4D,
    bias: tf.Tensor1D,
    save: tf.GradSaveFunc,
  ) => {
    save([x, filter]);
    return {
      value: conv(x, filter, bias),
      gradFunc: (dy: tf.Tensor4D, [sx, sf]: tf.Tensor[]) => [
        tf.zerosLike(sx!),
        filterGrad(sx as tf.Tensor4D, dy, sf as tf.Tensor4D),
        tf.reshape(tf.sum(dy, [0, 1, 2]), bias.shape),
      ],
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  const noBias = tf.customGrad(((x: tf.Tensor4D, filter: tf.Tensor4D, save: tf.GradSaveFunc) => {
    save([x, filter]);
    return {
      value: conv(x, filter),
      gradFunc: (dy: tf.Tensor4D, [sx, sf]: tf.Tensor[]) => [
        tf.zerosLike(sx!),
        filterGrad(sx as tf.Tensor4D, dy, sf as tf.Tensor4D),
      ],
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  layer.call = (inputs: tf.Tensor | tf.Tensor[]) =>
    tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor4D;
      const filter = c.kernel.read() as tf.Tensor4D;
      return c.bias
        ? (withBias as unknown as (...t: tf.Tensor[]) => tf.Tensor4D)(x, filter, c.bias.read())
        : (noBias as unknown as (...t: tf.Tensor[]) => tf.Tensor4D)(x, filter);
    });
  return true;
}

/** skipInputGradient on every layer of `model` that reads nothing but the model's inputs. */
export function skipModelInputGradients(model: tf.LayersModel): number {
  const inputs = new Set(model.inputs.map((t) => t.id));
  let n = 0;
  for (const layer of model.layers) {
    const nodes = layer.inboundNodes;
    const readsInputsOnly =
      layer.getClassName() !== 'InputLayer' &&
      nodes.length > 0 &&
      nodes.every((node) => node.inputTensors.every((t) => inputs.has(t.id)));
    if (readsInputsOnly && skipInputGradient(layer)) n++;
  }
  return n;
}
