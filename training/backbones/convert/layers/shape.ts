/**
 * Layers that move data around: Flatten, Reshape, ZeroPadding2D, Cropping2D, UpSampling2D.
 *
 * Flatten/Reshape must reproduce Keras' channels-last element order, or the next Dense layer's
 * weights would see a permuted vector: a rank-4 input is transposed back to NHWC first (skipped
 * when H = W = 1, where both orders coincide).
 */
import { z } from 'zod';
import { type AttrValue, int, str } from '../../../../shared/onnx/builder.ts';
import { ChannelsLast } from '../config.ts';
import type { GraphTensor } from '../context.ts';
import {
  type LayerCall,
  type LayerConverter,
  onlyInput,
  outShape,
  parseConfig,
  unsupportedLayer,
} from '../layer.ts';

/** A rank-4 ONNX (NCHW) tensor in Keras' NHWC element order. */
function inKerasOrder(call: LayerCall, input: GraphTensor): string {
  if (input.shape.length !== 4 || (input.shape[1] === 1 && input.shape[2] === 1)) return input.name;
  return call.ctx.transpose(input.name, [0, 2, 3, 1], call.ctx.tensorName(`${call.name}/nhwc`), call.name);
}

export const flatten: LayerConverter = (call) => {
  const input = onlyInput(call);
  if (input.shape.length === 2) return [input];
  const x = inKerasOrder(call, input);
  const out = call.ctx.op('Flatten', [x], call.ctx.tensorName(call.name), call.name, { axis: int(1) });
  return [{ name: out, shape: outShape(call) }];
};

const ReshapeConfig = z.object({ targetShape: z.array(z.number().int().nullable()) });

export const reshape: LayerConverter = (call) => {
  const cfg = parseConfig(call, ReshapeConfig);
  const input = onlyInput(call);
  const { ctx } = call;
  const shape = outShape(call);
  // The statically inferred output shape resolves a -1 where it can.
  const target = shape.slice(1).map((d, i) => d ?? cfg.targetShape[i] ?? -1);
  const x = inKerasOrder(call, input);
  if (target.length !== 3) {
    const out = ctx.op('Reshape', [x, ctx.int64s([0, ...target])], ctx.tensorName(call.name), call.name);
    return [{ name: out, shape }];
  }
  const [h, w, c] = target;
  if (h === 1 && w === 1) {
    const out = ctx.op('Reshape', [x, ctx.int64s([0, c, 1, 1])], ctx.tensorName(call.name), call.name);
    return [{ name: out, shape }];
  }
  const nhwc = ctx.op(
    'Reshape',
    [x, ctx.int64s([0, ...target])],
    ctx.tensorName(`${call.name}/nhwc`),
    call.name,
  );
  return [{ name: ctx.transpose(nhwc, [0, 3, 1, 2], ctx.tensorName(call.name), call.name), shape }];
};

const Edges = z.union([
  z
    .number()
    .int()
    .nonnegative()
    .transform((n) => [
      [n, n],
      [n, n],
    ]),
  z
    .array(z.number().int().nonnegative())
    .length(2)
    .transform(([a, b]) => [
      [a, a],
      [b, b],
    ]),
  z.array(z.array(z.number().int().nonnegative()).length(2)).length(2),
]);
const PadConfig = z.object({ padding: Edges, dataFormat: ChannelsLast });
const CropConfig = z.object({ cropping: Edges, dataFormat: ChannelsLast });

export const zeroPadding2d: LayerConverter = (call) => {
  const cfg = parseConfig(call, PadConfig);
  const input = onlyInput(call);
  const [[top, bottom], [left, right]] = cfg.padding;
  const pads = call.ctx.int64s([0, 0, top, left, 0, 0, bottom, right]);
  const out = call.ctx.op('Pad', [input.name, pads], call.ctx.tensorName(call.name), call.name, {
    mode: str('constant'),
  });
  return [{ name: out, shape: outShape(call) }];
};

export const cropping2d: LayerConverter = (call) => {
  const cfg = parseConfig(call, CropConfig);
  const input = onlyInput(call);
  const { ctx } = call;
  const [[top, bottom], [left, right]] = cfg.cropping;
  // Negative ends count from the end, so this works for dynamic sizes too; Slice clamps the max.
  const end = (n: number) => (n > 0 ? -n : Number.MAX_SAFE_INTEGER);
  const out = ctx.op(
    'Slice',
    [input.name, ctx.int64s([top, left]), ctx.int64s([end(bottom), end(right)]), ctx.int64s([2, 3])],
    ctx.tensorName(call.name),
    call.name,
  );
  return [{ name: out, shape: outShape(call) }];
};

const UpSamplingConfig = z.object({
  size: z.array(z.number().int().positive()).length(2),
  interpolation: z.enum(['nearest', 'bilinear']).default('nearest'),
  dataFormat: ChannelsLast,
});

/** tfjs resizes without half-pixel centres: ONNX Resize 'asymmetric' (floor for nearest). */
export const upSampling2d: LayerConverter = (call) => {
  const cfg = parseConfig(call, UpSamplingConfig);
  const input = onlyInput(call);
  if (input.shape.length !== 4) throw unsupportedLayer(call.name, call.className, 'input must be rank 4');
  const { ctx } = call;
  const scales = ctx.weight(call.name, 'scales', new Float32Array([1, 1, cfg.size[0], cfg.size[1]]), [4]);
  const attrs: Record<string, AttrValue> =
    cfg.interpolation === 'nearest'
      ? {
          mode: str('nearest'),
          coordinate_transformation_mode: str('asymmetric'),
          nearest_mode: str('floor'),
        }
      : { mode: str('linear'), coordinate_transformation_mode: str('asymmetric') };
  const out = ctx.op('Resize', [input.name, '', scales], ctx.tensorName(call.name), call.name, attrs);
  return [{ name: out, shape: outShape(call) }];
};
