/**
 * Pooling. TF "same" average pooling divides by the number of real (unpadded) pixels, which is
 * ONNX AveragePool with count_include_pad = 0; max pooling ignores padding in both.
 */
import { z } from 'zod';
import { type AttrValue, int, ints, str } from '../../../../shared/onnx/builder.ts';
import { ChannelsLast, Padding, Pair } from '../config.ts';
import { type LayerConverter, onlyInput, outShape, parseConfig } from '../layer.ts';
import { spatialPadding } from '../padding.ts';

const PoolConfig = z.object({
  poolSize: Pair,
  strides: Pair.nullish(),
  padding: Padding.default('valid'),
  dataFormat: ChannelsLast,
});

function pool(opType: 'MaxPool' | 'AveragePool'): LayerConverter {
  return (call) => {
    const cfg = parseConfig(call, PoolConfig);
    const input = onlyInput(call);
    const strides = cfg.strides ?? cfg.poolSize;
    const pad = spatialPadding(cfg.padding, [input.shape[1], input.shape[2]], cfg.poolSize, strides);
    const attrs: Record<string, AttrValue> = { kernel_shape: ints(cfg.poolSize), strides: ints(strides) };
    if (pad.autoPad) attrs.auto_pad = str(pad.autoPad);
    else attrs.pads = ints(pad.pads ?? [0, 0, 0, 0]);
    if (opType === 'AveragePool') attrs.count_include_pad = int(0);
    const out = call.ctx.op(opType, [input.name], call.ctx.tensorName(call.name), call.name, attrs);
    return [{ name: out, shape: outShape(call) }];
  };
}

export const maxPooling2d = pool('MaxPool');
export const averagePooling2d = pool('AveragePool');

const GlobalPoolConfig = z.object({
  dataFormat: ChannelsLast,
  keepDims: z.boolean().optional(),
  keepdims: z.boolean().optional(),
});

/** Global pooling gives [N,C,1,1] in ONNX; Keras' default drops the 1×1 → Flatten. */
function globalPool(opType: 'GlobalAveragePool' | 'GlobalMaxPool'): LayerConverter {
  return (call) => {
    const cfg = parseConfig(call, GlobalPoolConfig);
    const input = onlyInput(call);
    const { ctx } = call;
    if (cfg.keepDims || cfg.keepdims) {
      return [
        { name: ctx.op(opType, [input.name], ctx.tensorName(call.name), call.name), shape: outShape(call) },
      ];
    }
    const name = ctx.tensorName(call.name);
    const pooled = ctx.op(opType, [input.name], ctx.tensorName(`${call.name}/pool`), call.name);
    ctx.op('Flatten', [pooled], name, call.name, { axis: int(1) });
    return [{ name, shape: outShape(call) }];
  };
}

export const globalAveragePooling2d = globalPool('GlobalAveragePool');
export const globalMaxPooling2d = globalPool('GlobalMaxPool');
