/**
 * BatchNormalization at inference: moving statistics only. Over the channel axis it becomes
 * ONNX BatchNormalization (or disappears into a preceding conv, see conv.ts); over any other
 * axis it becomes Mul + Add with precomputed broadcastable factors.
 */
import type * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { float } from '../../../../shared/onnx/builder.ts';
import { onnxAxis } from '../context.ts';
import { type LayerConverter, layerWeights, onlyInput, outShape, parseConfig } from '../layer.ts';
import { type BatchNormParams, batchNormAffine } from '../weights.ts';

const BatchNormConfig = z.object({
  axis: z
    .union([z.number().int(), z.array(z.number().int()).length(1)])
    .transform((a) => (Array.isArray(a) ? a[0] : a)),
  epsilon: z.number().default(1e-3),
  center: z.boolean().default(true),
  scale: z.boolean().default(true),
});

export function batchNormParams(layer: tf.layers.Layer): BatchNormParams {
  const cfg = BatchNormConfig.parse(layer.getConfig());
  const weights = layerWeights(layer).map((w) => w.data);
  let i = 0;
  const gamma = cfg.scale ? weights[i++] : undefined;
  const beta = cfg.center ? weights[i++] : undefined;
  const mean = weights[i++];
  const variance = weights[i++];
  if (mean === undefined || variance === undefined) {
    throw new Error(`internal: BatchNormalization '${layer.name}' has ${weights.length} weights`);
  }
  return {
    gamma: gamma ?? new Float32Array(mean.length).fill(1),
    beta: beta ?? new Float32Array(mean.length),
    mean,
    variance,
    epsilon: cfg.epsilon,
  };
}

/** A BatchNormalization over the last (channel) axis of a rank-`rank` tensor. */
export function isFoldableBatchNorm(layer: tf.layers.Layer, rank: number): boolean {
  if (layer.getClassName() !== 'BatchNormalization') return false;
  const r = BatchNormConfig.safeParse(layer.getConfig());
  return r.success && (r.data.axis === -1 || r.data.axis === rank - 1);
}

export const batchNormalization: LayerConverter = (call) => {
  const cfg = parseConfig(call, BatchNormConfig);
  const input = onlyInput(call);
  const { ctx } = call;
  const rank = input.shape.length;
  const p = batchNormParams(call.layer);
  const out = ctx.tensorName(call.name);
  const axis = onnxAxis(cfg.axis, rank);
  if (axis === 1 && rank >= 2) {
    const c = [p.mean.length];
    ctx.op(
      'BatchNormalization',
      [
        input.name,
        ctx.weight(call.name, 'scale', p.gamma, c),
        ctx.weight(call.name, 'bias', p.beta, c),
        ctx.weight(call.name, 'mean', p.mean, c),
        ctx.weight(call.name, 'var', p.variance, c),
      ],
      out,
      call.name,
      { epsilon: float(p.epsilon) },
    );
    return [{ name: out, shape: outShape(call) }];
  }
  // Normalising some other axis (e.g. the last axis of a rank-3 tensor): y = x*scale + shift.
  const { scale, shift } = batchNormAffine(p);
  const dims = new Array<number>(rank).fill(1);
  dims[axis] = scale.length;
  const scaled = ctx.op(
    'Mul',
    [input.name, ctx.weight(call.name, 'scale', scale, dims)],
    ctx.tensorName(`${call.name}/scaled`),
    call.name,
  );
  ctx.op('Add', [scaled, ctx.weight(call.name, 'shift', shift, dims)], out, call.name);
  return [{ name: out, shape: outShape(call) }];
};
