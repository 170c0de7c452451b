/** Layers that are the identity at inference (dropout, noise) and Rescaling. */
import { z } from 'zod';
import { type LayerConverter, onlyInput, outShape, parseConfig } from '../layer.ts';

/** No node: the output is the input tensor under another Keras name. */
export const identity: LayerConverter = (call) => [onlyInput(call)];

const RescalingConfig = z.object({ scale: z.number(), offset: z.number().default(0) });

export const rescaling: LayerConverter = (call) => {
  const cfg = parseConfig(call, RescalingConfig);
  const input = onlyInput(call);
  const { ctx } = call;
  const out = ctx.tensorName(call.name);
  if (cfg.offset === 0) {
    ctx.op('Mul', [input.name, ctx.scalar(cfg.scale)], out, call.name);
  } else {
    const scaled = ctx.op(
      'Mul',
      [input.name, ctx.scalar(cfg.scale)],
      ctx.tensorName(`${call.name}/scaled`),
      call.name,
    );
    ctx.op('Add', [scaled, ctx.scalar(cfg.offset)], out, call.name);
  }
  return [{ name: out, shape: outShape(call) }];
};
