/**
 * Merge layers. All inputs must share a rank (then they share a layout, and ONNX broadcasting
 * matches Keras'); Concatenate maps its Keras axis into the ONNX layout.
 */
import { z } from 'zod';
import { int } from '../../../../shared/onnx/builder.ts';
import { onnxAxis } from '../context.ts';
import { type LayerCall, type LayerConverter, outShape, parseConfig, unsupportedLayer } from '../layer.ts';

function sameRankInputs(call: LayerCall, min: number): string[] {
  if (call.inputs.length < min) {
    throw unsupportedLayer(
      call.name,
      call.className,
      `expected at least ${min} inputs, got ${call.inputs.length}`,
    );
  }
  const rank = call.inputs[0].shape.length;
  if (call.inputs.some((t) => t.shape.length !== rank)) {
    throw unsupportedLayer(call.name, call.className, 'inputs of different ranks');
  }
  return call.inputs.map((t) => t.name);
}

/** Binary ops chain; ONNX's variadic Sum/Mean/Max/Min take every input at once. */
function elementwise(binary: string, variadic?: string): LayerConverter {
  return (call) => {
    const names = sameRankInputs(call, 2);
    const { ctx } = call;
    const out = ctx.tensorName(call.name);
    if (names.length === 2 || variadic === undefined) {
      let acc = names[0];
      for (let i = 1; i < names.length; i++) {
        const target = i === names.length - 1 ? out : ctx.tensorName(`${call.name}/partial`);
        acc = ctx.op(binary, [acc, names[i]], target, call.name);
      }
    } else {
      ctx.op(variadic, names, out, call.name);
    }
    return [{ name: out, shape: outShape(call) }];
  };
}

export const add = elementwise('Add', 'Sum');
export const multiply = elementwise('Mul');
export const maximum = elementwise('Max', 'Max');
export const minimum = elementwise('Min', 'Min');

export const subtract: LayerConverter = (call) => {
  const names = sameRankInputs(call, 2);
  if (names.length !== 2)
    throw unsupportedLayer(call.name, call.className, 'Subtract takes exactly 2 inputs');
  const out = call.ctx.op('Sub', names, call.ctx.tensorName(call.name), call.name);
  return [{ name: out, shape: outShape(call) }];
};

export const average: LayerConverter = (call) => {
  const names = sameRankInputs(call, 2);
  const out = call.ctx.op('Mean', names, call.ctx.tensorName(call.name), call.name);
  return [{ name: out, shape: outShape(call) }];
};

const ConcatConfig = z.object({ axis: z.number().int().default(-1) });

export const concatenate: LayerConverter = (call) => {
  const cfg = parseConfig(call, ConcatConfig);
  const names = sameRankInputs(call, 1);
  const rank = call.inputs[0].shape.length;
  const axis = onnxAxis(cfg.axis, rank);
  const out = call.ctx.op('Concat', names, call.ctx.tensorName(call.name), call.name, { axis: int(axis) });
  return [{ name: out, shape: outShape(call) }];
};
