/**
 * Keras activation functions → ONNX opset 17 nodes. Functions without an opset-17 operator
 * (swish, mish, gelu) are composed from exact primitives.
 */
import { EdgetuneError } from '../../../shared/errors.ts';
import { float, int } from '../../../shared/onnx/builder.ts';
import { type ConvertContext, onnxAxis } from './context.ts';

/** The activation names tfjs serialises, plus Keras spellings of the same functions. */
const ALIASES: Record<string, string> = {
  hard_sigmoid: 'hardSigmoid',
  log_softmax: 'logSoftmax',
  silu: 'swish',
  hard_swish: 'hardSwish',
  hard_silu: 'hardSwish',
  gelu_new: 'geluNew',
};

export function normaliseActivation(name: string | null | undefined): string {
  const n = name ?? 'linear';
  return ALIASES[n] ?? n;
}

/** Clip(x, lo, hi) with opset-11+ tensor bounds. */
export function clip(
  ctx: ConvertContext,
  x: string,
  lo: number,
  hi: number | undefined,
  out: string,
  layer: string,
): string {
  const inputs = [x, ctx.scalar(lo)];
  if (hi !== undefined) inputs.push(ctx.scalar(hi));
  return ctx.op('Clip', inputs, out, layer);
}

/**
 * Emits `activation(x)` into tensor `out`. `rank` is the Keras rank (softmax works on the last
 * Keras axis, which is ONNX axis 1 for rank-4 tensors). 'linear' must be handled by the caller.
 */
export function activate(
  ctx: ConvertContext,
  x: string,
  activation: string,
  out: string,
  layer: string,
  rank: number,
): string {
  const tmp = (what: string) => ctx.tensorName(`${layer}/${what}`);
  switch (normaliseActivation(activation)) {
    case 'relu':
      return ctx.op('Relu', [x], out, layer);
    case 'relu6':
      return clip(ctx, x, 0, 6, out, layer);
    case 'elu':
      return ctx.op('Elu', [x], out, layer, { alpha: float(1) });
    case 'selu':
      // TF's constants (ONNX defaults differ in the 8th digit).
      return ctx.op('Selu', [x], out, layer, {
        alpha: float(1.6732632423543772),
        gamma: float(1.0507009873554805),
      });
    case 'sigmoid':
      return ctx.op('Sigmoid', [x], out, layer);
    case 'hardSigmoid':
      return ctx.op('HardSigmoid', [x], out, layer, { alpha: float(0.2), beta: float(0.5) });
    case 'hardSwish':
      // x * relu6(x + 3) / 6 — exactly ONNX HardSwish (alpha 1/6, beta 0.5).
      return ctx.op('HardSwish', [x], out, layer);
    case 'softplus':
      return ctx.op('Softplus', [x], out, layer);
    case 'softsign':
      return ctx.op('Softsign', [x], out, layer);
    case 'tanh':
      return ctx.op('Tanh', [x], out, layer);
    case 'softmax':
      return ctx.op('Softmax', [x], out, layer, { axis: int(onnxAxis(-1, rank)) });
    case 'logSoftmax':
      return ctx.op('LogSoftmax', [x], out, layer, { axis: int(onnxAxis(-1, rank)) });
    case 'swish': {
      const s = ctx.op('Sigmoid', [x], tmp('sigmoid'), layer);
      return ctx.op('Mul', [x, s], out, layer);
    }
    case 'mish': {
      const sp = ctx.op('Softplus', [x], tmp('softplus'), layer);
      const t = ctx.op('Tanh', [sp], tmp('tanh'), layer);
      return ctx.op('Mul', [x, t], out, layer);
    }
    case 'gelu': {
      // 0.5 * x * (1 + erf(x / sqrt(2))), as tfjs computes it.
      const scaled = ctx.op('Mul', [x, ctx.scalar(Math.SQRT1_2)], tmp('scaled'), layer);
      const e = ctx.op('Erf', [scaled], tmp('erf'), layer);
      const onePlus = ctx.op('Add', [e, ctx.scalar(1)], tmp('one_plus'), layer);
      const half = ctx.op('Mul', [x, ctx.scalar(0.5)], tmp('half'), layer);
      return ctx.op('Mul', [half, onePlus], out, layer);
    }
    case 'geluNew': {
      // 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))
      const x2 = ctx.op('Mul', [x, x], tmp('x2'), layer);
      const x3 = ctx.op('Mul', [x2, x], tmp('x3'), layer);
      const cubic = ctx.op('Mul', [x3, ctx.scalar(0.044715)], tmp('cubic'), layer);
      const inner = ctx.op('Add', [x, cubic], tmp('inner'), layer);
      const arg = ctx.op('Mul', [inner, ctx.scalar(Math.sqrt(2 / Math.PI))], tmp('arg'), layer);
      const t = ctx.op('Tanh', [arg], tmp('tanh'), layer);
      const onePlus = ctx.op('Add', [t, ctx.scalar(1)], tmp('one_plus'), layer);
      const half = ctx.op('Mul', [x, ctx.scalar(0.5)], tmp('half'), layer);
      return ctx.op('Mul', [half, onePlus], out, layer);
    }
    default:
      throw new EdgetuneError(
        'unsupported',
        `activation '${activation}' of layer '${layer}' is not supported`,
      );
  }
}

/**
 * Runs `emitLinear` into the layer's output tensor, or into a temporary followed by the
 * activation. Returns the name of the layer's final tensor.
 */
export function withActivation(
  ctx: ConvertContext,
  layer: string,
  activation: string,
  rank: number,
  emitLinear: (out: string) => void,
  outputBase: string = layer,
): string {
  const finalName = ctx.tensorName(outputBase);
  if (normaliseActivation(activation) === 'linear') {
    emitLinear(finalName);
    return finalName;
  }
  const pre = ctx.tensorName(`${outputBase}/linear`);
  emitLinear(pre);
  return activate(ctx, pre, activation, finalName, layer, rank);
}
