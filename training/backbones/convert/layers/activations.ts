/** Activation layers: Activation, ReLU (max_value), LeakyReLU, ELU, ThresholdedReLU, PReLU, Softmax. */
import { z } from 'zod';
import { float, int } from '../../../../shared/onnx/builder.ts';
import { activate, clip, normaliseActivation } from '../activation.ts';
import { onnxAxis } from '../context.ts';
import {
  type LayerConverter,
  layerWeights,
  onlyInput,
  outShape,
  parseConfig,
  unsupportedLayer,
} from '../layer.ts';
import { hwcToChw } from '../weights.ts';

const ActivationConfig = z.object({ activation: z.string() });

export const activation: LayerConverter = (call) => {
  const cfg = parseConfig(call, ActivationConfig);
  const input = onlyInput(call);
  if (normaliseActivation(cfg.activation) === 'linear') return [input];
  const out = activate(
    call.ctx,
    input.name,
    cfg.activation,
    call.ctx.tensorName(call.name),
    call.name,
    input.shape.length,
  );
  return [{ name: out, shape: outShape(call) }];
};

/**
 * tfjs' ReLU layer reads only max_value (Keras' negative_slope and threshold are dropped when
 * tfjs deserialises the layer), so relu or clip(0, max_value) is exactly what tfjs computes.
 */
const ReluConfig = z.object({ maxValue: z.number().nullish() });

export const relu: LayerConverter = (call) => {
  const cfg = parseConfig(call, ReluConfig);
  const input = onlyInput(call);
  const out = call.ctx.tensorName(call.name);
  if (cfg.maxValue == null) call.ctx.op('Relu', [input.name], out, call.name);
  else clip(call.ctx, input.name, 0, cfg.maxValue, out, call.name);
  return [{ name: out, shape: outShape(call) }];
};

const AlphaConfig = z.object({ alpha: z.number() });

export const leakyRelu: LayerConverter = (call) => {
  const cfg = parseConfig(call, AlphaConfig);
  const input = onlyInput(call);
  const out = call.ctx.op('LeakyRelu', [input.name], call.ctx.tensorName(call.name), call.name, {
    alpha: float(cfg.alpha),
  });
  return [{ name: out, shape: outShape(call) }];
};

export const elu: LayerConverter = (call) => {
  const cfg = parseConfig(call, AlphaConfig);
  const input = onlyInput(call);
  const out = call.ctx.op('Elu', [input.name], call.ctx.tensorName(call.name), call.name, {
    alpha: float(cfg.alpha),
  });
  return [{ name: out, shape: outShape(call) }];
};

/** x where x > theta, else 0: ONNX ThresholdedRelu has exactly this definition. */
export const thresholdedRelu: LayerConverter = (call) => {
  const cfg = parseConfig(call, z.object({ theta: z.number() }));
  const input = onlyInput(call);
  const out = call.ctx.op('ThresholdedRelu', [input.name], call.ctx.tensorName(call.name), call.name, {
    alpha: float(cfg.theta),
  });
  return [{ name: out, shape: outShape(call) }];
};

const SoftmaxConfig = z.object({
  axis: z
    .union([z.number().int(), z.array(z.number().int()).length(1)])
    .transform((a) => (Array.isArray(a) ? a[0] : a)),
});

export const softmax: LayerConverter = (call) => {
  const cfg = parseConfig(call, SoftmaxConfig);
  const input = onlyInput(call);
  const axis = onnxAxis(cfg.axis, input.shape.length);
  const out = call.ctx.op('Softmax', [input.name], call.ctx.tensorName(call.name), call.name, {
    axis: int(axis),
  });
  return [{ name: out, shape: outShape(call) }];
};

/** PReLU's alpha has the input's shape minus batch (size 1 on shared axes); rank 4 → [C,H,W]. */
export const prelu: LayerConverter = (call) => {
  const input = onlyInput(call);
  const [alpha] = layerWeights(call.layer);
  if (alpha === undefined) throw unsupportedLayer(call.name, call.className, 'no alpha weights');
  let data = alpha.data;
  let dims = alpha.shape;
  if (input.shape.length === 4) {
    if (dims.length !== 3) throw unsupportedLayer(call.name, call.className, `alpha of shape [${dims}]`);
    data = hwcToChw(data, dims);
    dims = [dims[2], dims[0], dims[1]];
  }
  const slope = call.ctx.weight(call.name, 'alpha', data, dims);
  const out = call.ctx.op('PRelu', [input.name, slope], call.ctx.tensorName(call.name), call.name);
  return [{ name: out, shape: outShape(call) }];
};
