/**
 * Conv: reads the attributes, folds a following BatchNormalization into the weights and bias,
 * takes the activation (and, for a 1×1 conv, a residual Add) as the epilogue, then hands the
 * prepared conv to the first strategy in conv-strategies.ts that accepts it — or, when its input
 * is int8 codes and its weights int8 (a QDQ graph), in qconv-strategies.ts.
 */
import { attrInt, attrInts } from '../../onnx/attributes.ts';
import type { NodeProto } from '../../onnx/proto.ts';
import { outputSize1d, windowPads2d } from '../../onnx/window.ts';
import { type LowerContext, type OpLowering, unsupported } from '../lowering.ts';
import { bnScaleShift } from './affine.ts';
import { CONV_STRATEGIES, type PreparedConv } from './conv-strategies.ts';
import { paddedBias } from './gemm.ts';
import { type PreparedQConv, QCONV_STRATEGIES } from './qconv-strategies.ts';
import { takeRequant } from './qdq.ts';

function lowerConv(node: NodeProto, ctx: LowerContext, group: number[]): void {
  // Codes from a QuantizeLinear only reach a conv whose weights are int8 (qdq.ts decides that).
  const codes = ctx.codes(node, 0);
  const x = codes ?? ctx.input(node, 0);
  if (x.rank !== 4) unsupported(node, 'needs a rank-4 input');
  const wName = node.input?.[1];
  if (!ctx.consts.isFloat(wName)) unsupported(node, 'weights must be a constant');
  const wq = codes ? ctx.consts.quantized(wName) : undefined;
  if (codes && !wq) unsupported(node, 'int8 input needs int8 weights');
  const dims = wq ? wq.dims : ctx.consts.floats(wName!).dims;
  const [cout, cing, kh, kw] = dims as [number, number, number, number];
  if (dims.length !== 4) unsupported(node, 'only 2-D convolutions');
  const groups = attrInt(node, 'group', 1);
  if (cing * groups !== x.c) unsupported(node, `weights expect ${cing * groups} input channels, got ${x.c}`);
  const [sh, sw] = (attrInts(node, 'strides') ?? [1, 1]) as [number, number];
  const [dh, dw] = (attrInts(node, 'dilations') ?? [1, 1]) as [number, number];
  const [pt, pl, pb, pr] = windowPads2d(node, x.h, x.w, [kh, kw], [sh, sw], [dh, dw]);
  const oh = outputSize1d(x.h, kh, sh, dh, [pt, pb]);
  const ow = outputSize1d(x.w, kw, sw, dw, [pl, pr]);

  // BatchNormalization right after the conv folds into its weights (fp32) or its per-channel
  // output scale (int8) and its bias.
  let outName = node.output![0]!;
  const biasName = node.input?.[2];
  const bias = biasName ? ctx.consts.floats(biasName).data.slice() : new Float32Array(cout);
  let bnScale: Float32Array | undefined;
  const next = ctx.soleConsumer(outName);
  const bn = next !== undefined ? ctx.node(next) : undefined;
  if (bn?.opType === 'BatchNormalization' && bn.input?.[0] === outName) {
    const { scale, shift } = bnScaleShift(bn, ctx.consts);
    bnScale = scale;
    // (plain loops: TypedArray.from with a map function is V8's slow generic path, and a cold
    // start runs this for every conv)
    for (let c = 0; c < bias.length; c++) bias[c] = bias[c]! * scale[c]! + shift[c]!;
    group.push(next!);
    outName = bn.output![0]!;
  }
  const { act, out: actOut } = ctx.takeAct(outName, group);
  const pointwise = kh === 1 && kw === 1 && sh === 1 && sw === 1 && pt + pl + pb + pr === 0 && groups === 1;
  const { res, out } = pointwise
    ? ctx.takeResidual(actOut, { n: x.n, c: cout, h: oh, w: ow }, group)
    : { res: undefined, out: actOut };
  // An int8 conv whose output is quantized again right after writes the codes in its epilogue.
  const requant = wq ? takeRequant(ctx, out, { rank: 4, n: x.n, c: cout, h: oh, w: ow }, group) : undefined;
  const y = requant && !requant.keepFloat ? requant.codes : ctx.place(out, 4, x.n, cout, oh, ow);
  const key = `conv:${node.name}:${node.output?.[0]}`;
  const common = {
    node,
    key,
    x,
    y,
    cout,
    cing,
    groups,
    win: { kh, kw, sh, sw, pt, pl, dh, dw },
    pointwise,
    act,
    res,
    name: node.name ?? out,
  };
  if (wq) {
    // y = (Σ codes_x · codes_w - zp · Σ codes_w) · scale_x · scale_w[c] · bn[c] + bias[c]
    const sx = codes!.q!.scale;
    const scale = new Float32Array(cout);
    for (let c = 0; c < cout; c++)
      scale[c] = sx * wq.scales[wq.scales.length === 1 ? 0 : c]! * (bnScale ? bnScale[c]! : 1);
    const conv: PreparedQConv = {
      ...common,
      codes: () => wq.codes,
      zp: codes!.q!.zp,
      scale,
      bias,
      float: !requant || requant.keepFloat,
      requant,
    };
    const strategy = QCONV_STRATEGIES.find((s) => s.accepts(conv));
    if (!strategy) unsupported(node, 'no int8 conv strategy accepts it');
    strategy.lower(conv, ctx);
    return;
  }
  let weights = ctx.consts.floats(wName!).data;
  if (bnScale) {
    const per = cing * kh * kw;
    const s = bnScale;
    weights = Float32Array.from(weights, (v, i) => v * s[Math.floor(i / per)]!);
  }
  const conv: PreparedConv = { ...common, weights, bias: paddedBias(ctx, key, bias, y.cs) };
  const strategy = CONV_STRATEGIES.find((s) => s.accepts(conv));
  if (!strategy) unsupported(node, 'no conv strategy accepts it');
  strategy.lower(conv, ctx);
}

export const convLowering: OpLowering = {
  ops: ['Conv'],
  check(node, { consts }) {
    if (!consts.isFloat(node.input?.[1])) return 'weights must be a constant';
    if (node.input?.[2] && !consts.isFloat(node.input?.[2])) return 'bias must be a constant';
    const kernel = attrInts(node, 'kernel_shape');
    if (kernel && kernel.length !== 2) return 'only 2-D';
    return undefined;
  },
  lower: lowerConv,
};
