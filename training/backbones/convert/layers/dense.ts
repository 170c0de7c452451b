/**
 * Dense: Gemm for [N, in]; for higher ranks Keras applies the kernel to the last axis, which is
 * MatMul + Add (rank-4 tensors are moved to channels-last and back around it).
 */
import { z } from 'zod';
import { withActivation } from '../activation.ts';
import { ActivationName } from '../config.ts';
import { type LayerConverter, layerWeights, onlyInput, outShape, parseConfig } from '../layer.ts';

const DenseConfig = z.object({ activation: ActivationName, useBias: z.boolean().default(true) });

export const dense: LayerConverter = (call) => {
  const cfg = parseConfig(call, DenseConfig);
  const input = onlyInput(call);
  const { ctx } = call;
  const layer = call.name;
  const rank = input.shape.length;
  const [kernel, bias] = layerWeights(call.layer);
  const w = ctx.weight(layer, 'kernel', kernel.data, kernel.shape);
  const b = cfg.useBias && bias ? ctx.weight(layer, 'bias', bias.data, bias.shape) : undefined;
  const shape = outShape(call);

  if (rank === 2) {
    const name = withActivation(ctx, layer, cfg.activation, 2, (out) => {
      if (b) ctx.op('Gemm', [input.name, w, b], out, layer);
      else ctx.op('MatMul', [input.name, w], out, layer);
    });
    return [{ name, shape }];
  }

  const lastAxis = (x: string, out: string) => {
    if (!b) return ctx.op('MatMul', [x, w], out, layer);
    const mm = ctx.op('MatMul', [x, w], ctx.tensorName(`${layer}/matmul`), layer);
    return ctx.op('Add', [mm, b], out, layer);
  };
  if (rank !== 4) {
    const name = withActivation(ctx, layer, cfg.activation, rank, (out) => void lastAxis(input.name, out));
    return [{ name, shape }];
  }
  const nhwc = ctx.transpose(input.name, [0, 2, 3, 1], ctx.tensorName(`${layer}/nhwc`), layer);
  const y = lastAxis(nhwc, ctx.tensorName(`${layer}/nhwc_out`));
  const name = withActivation(
    ctx,
    layer,
    cfg.activation,
    4,
    (out) => void ctx.transpose(y, [0, 3, 1, 2], out, layer),
  );
  return [{ name, shape }];
};
