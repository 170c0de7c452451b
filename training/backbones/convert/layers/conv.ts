/**
 * Conv2D, DepthwiseConv2D and SeparableConv2D → ONNX Conv (grouped for depthwise), with a
 * directly following BatchNormalization folded into the weights when nothing else reads the
 * conv's raw output.
 */
import { z } from 'zod';
import { type AttrValue, int, ints, str } from '../../../../shared/onnx/builder.ts';
import { withActivation } from '../activation.ts';
import { ActivationName, ChannelsLast, Padding, Pair } from '../config.ts';
import type { GraphTensor } from '../context.ts';
import type { TfNode } from '../graph.ts';
import {
  type LayerCall,
  type LayerConverter,
  layerWeights,
  onlyInput,
  outShape,
  parseConfig,
} from '../layer.ts';
import { spatialPadding } from '../padding.ts';
import { type BatchNormParams, depthwiseToOihw, foldBatchNorm, hwioToOihw } from '../weights.ts';
import { batchNormParams, isFoldableBatchNorm } from './normalization.ts';

const ConvConfig = z.object({
  kernelSize: Pair,
  strides: Pair.default([1, 1]),
  padding: Padding,
  dataFormat: ChannelsLast,
  dilationRate: Pair.default([1, 1]),
  activation: ActivationName,
  useBias: z.boolean().default(true),
});
type ConvConfig = z.infer<typeof ConvConfig>;

interface ConvWeights {
  weight: Float32Array;
  dims: number[];
  bias?: Float32Array;
}

function convAttrs(
  cfg: ConvConfig,
  input: GraphTensor,
  group: number,
  kernel: readonly number[],
): Record<string, AttrValue> {
  const pad = spatialPadding(
    cfg.padding,
    [input.shape[1], input.shape[2]],
    kernel,
    cfg.strides,
    cfg.dilationRate,
  );
  const attrs: Record<string, AttrValue> = {
    kernel_shape: ints(kernel),
    strides: ints(cfg.strides),
    dilations: ints(cfg.dilationRate),
    group: int(group),
  };
  if (pad.autoPad) attrs.auto_pad = str(pad.autoPad);
  else attrs.pads = ints(pad.pads ?? [0, 0, 0, 0]);
  return attrs;
}

/**
 * If the conv's only consumer is a BatchNormalization over channels (and the conv has no
 * activation of its own), claims that node: returns its parameters and the Keras name the fused
 * output should carry.
 */
function claimFollowingBatchNorm(
  call: LayerCall,
  activation: string,
): { bn: BatchNormParams; node: TfNode } | undefined {
  if (activation !== 'linear') return undefined;
  const out = call.node.outputTensors[0];
  const next = call.ctx.soleConsumer(out);
  if (next === undefined || !isFoldableBatchNorm(next.outboundLayer, 4)) return undefined;
  call.ctx.markHandled(next);
  return { bn: batchNormParams(next.outboundLayer), node: next };
}

/** Emits the final (possibly BN-folded, possibly activated) Conv and binds a folded BN's output. */
function emitConv(
  call: LayerCall,
  cfg: ConvConfig,
  x: string,
  input: GraphTensor,
  w: ConvWeights,
  group: number,
  kernel: readonly number[],
): GraphTensor {
  const { ctx } = call;
  const folded = claimFollowingBatchNorm(call, cfg.activation);
  let weight = w.weight;
  let bias = w.bias;
  if (folded) ({ weight, bias } = foldBatchNorm(weight, bias, folded.bn));
  const layer = call.name;
  const wName = ctx.weight(layer, 'weight', weight, w.dims);
  const inputs = [x, wName];
  if (bias) inputs.push(ctx.weight(layer, 'bias', bias, [bias.length]));
  const attrs = convAttrs(cfg, input, group, kernel);
  const name = withActivation(
    ctx,
    layer,
    cfg.activation,
    4,
    (out) => void ctx.op('Conv', inputs, out, layer, attrs),
    folded?.node.outboundLayer.name ?? layer,
  );
  const result: GraphTensor = { name, shape: outShape(call) };
  if (!folded) return result;
  ctx.bind(folded.node.outputTensors[0], result);
  return { ...result, fused: true };
}

export const conv2d: LayerConverter = (call) => {
  const cfg = parseConfig(call, ConvConfig);
  const input = onlyInput(call);
  const [kernel, bias] = layerWeights(call.layer);
  const [kh, kw, ci, co] = kernel.shape;
  const w = {
    weight: hwioToOihw(kernel.data, kernel.shape),
    dims: [co, ci, kh, kw],
    bias: cfg.useBias ? bias?.data : undefined,
  };
  return [emitConv(call, cfg, input.name, input, w, 1, [kh, kw])];
};

export const depthwiseConv2d: LayerConverter = (call) => {
  const cfg = parseConfig(call, ConvConfig);
  const input = onlyInput(call);
  const [kernel, bias] = layerWeights(call.layer);
  const [kh, kw, ci, mult] = kernel.shape;
  const w = {
    weight: depthwiseToOihw(kernel.data, kernel.shape),
    dims: [ci * mult, 1, kh, kw],
    bias: cfg.useBias ? bias?.data : undefined,
  };
  return [emitConv(call, cfg, input.name, input, w, ci, [kh, kw])];
};

/** Depthwise (no bias, no activation) then a 1×1 pointwise Conv carrying bias and activation. */
export const separableConv2d: LayerConverter = (call) => {
  const cfg = parseConfig(call, ConvConfig);
  const input = onlyInput(call);
  const { ctx } = call;
  const [depthwise, pointwise, bias] = layerWeights(call.layer);
  const [kh, kw, ci, mult] = depthwise.shape;
  const co = pointwise.shape[3];
  const dwWeight = ctx.weight(
    call.name,
    'depthwise_weight',
    depthwiseToOihw(depthwise.data, depthwise.shape),
    [ci * mult, 1, kh, kw],
  );
  const dwOut = ctx.op(
    'Conv',
    [input.name, dwWeight],
    ctx.tensorName(`${call.name}/depthwise`),
    call.name,
    convAttrs(cfg, input, ci, [kh, kw]),
  );
  const pwCfg: ConvConfig = {
    ...cfg,
    kernelSize: [1, 1],
    strides: [1, 1],
    dilationRate: [1, 1],
    padding: 'valid',
  };
  const w = {
    weight: hwioToOihw(pointwise.data, pointwise.shape),
    dims: [co, ci * mult, 1, 1],
    bias: cfg.useBias ? bias?.data : undefined,
  };
  return [emitConv(call, pwCfg, dwOut, input, w, 1, [1, 1])];
};
