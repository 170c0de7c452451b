/**
 * Per-layer quantization sensitivity, for choosing which layers stay fp32 when the fully int8
 * model fails its gate. Each quantizable op is quantized alone (everything else fp32) and the
 * model's log-probabilities on calibration images are compared to fp32: what one layer's int8
 * error does to the decision, which is what the gate measures. In MobileNetV2 the first conv and
 * the first depthwise conv stand out by an order of magnitude; a handful of layers usually carry
 * most of the damage, so keeping them fp32 costs little of the int8 work.
 *
 * Only layers that fit a budget of multiply-accumulates may stay fp32, so the variant stays an
 * int8 model (its speed and size are the point) instead of quietly becoming fp32.
 */
import { attrInt, attrInts } from '../../shared/onnx/attributes.ts';
import { encodeModel, type ModelProto, type TensorProto, toNumber } from '../../shared/onnx/proto.ts';
import type { PreprocessSpec } from '../../shared/manifest/preprocess.ts';
import type { RawImage } from '../../shared/preprocess/types.ts';
import type { Range } from './calibrate.ts';
import { predict } from './gate.ts';
import { type ActivationBits, type QuantizedOp, toQdq } from './qdq.ts';

/** Largest share of the model's multiply-accumulates that may stay fp32. */
export const FP32_MAC_BUDGET = 0.1;
/** Calibration images each single-layer model runs on (ranking needs few). */
export const SENSITIVITY_IMAGES = 32;

export interface LayerSensitivity {
  node: string;
  /** Mean squared change of the centred log-probabilities when only this layer is int8. */
  score: number;
  macs: number;
}

/** Multiply-accumulates per image of `op`, from its weight shape and input size. */
export function opMacs(op: QuantizedOp, weight: TensorProto, inputElements: number): number {
  const dims = (weight.dims ?? []).map(toNumber);
  const weights = dims.reduce((a, b) => a * b, 1);
  if (op.node.opType === 'Conv') {
    const inChannels = dims[1]! * attrInt(op.node, 'group', 1);
    const strides = attrInts(op.node, 'strides') ?? [1, 1];
    const spatial = inputElements / inChannels / strides.reduce((a, b) => a * b, 1);
    return weights * spatial;
  }
  // Gemm/MatMul: every input row meets every weight once; the reduced axis is the other one.
  return (inputElements / dims[1 - op.axis]!) * weights;
}

/** log p centred per image (the logits up to a constant); underflowed probabilities clamp. */
function centredLogits(p: Float32Array, classes: number): Float64Array {
  const out = new Float64Array(p.length);
  for (let i = 0; i < p.length; i += classes) {
    let mean = 0;
    for (let k = 0; k < classes; k++) {
      out[i + k] = Math.log(Math.max(p[i + k]!, 1e-30));
      mean += out[i + k]!;
    }
    mean /= classes;
    for (let k = 0; k < classes; k++) out[i + k]! -= mean;
  }
  return out;
}

export async function layerSensitivity(
  model: ModelProto,
  ops: readonly QuantizedOp[],
  o: {
    ranges: ReadonlyMap<string, Range>;
    activationBits: ActivationBits;
    images: readonly RawImage[];
    preprocess: PreprocessSpec;
    elements: ReadonlyMap<string, number>;
  },
): Promise<{ layers: LayerSensitivity[]; totalMacs: number }> {
  const images = o.images.slice(0, SENSITIVITY_IMAGES);
  const initializers = new Map((model.graph?.initializer ?? []).map((t) => [t.name ?? '', t]));
  const macs = ops.map((op) => opMacs(op, initializers.get(op.weight)!, o.elements.get(op.activation) ?? 0));
  const total = macs.reduce((a, b) => a + b, 0);
  const reference = await predict(encodeModel(model), images, o.preprocess);
  const classes = images.length ? reference.probabilities.length / images.length : 1;
  const ref = centredLogits(reference.probabilities, classes);
  const names = ops.map((op) => op.node.name ?? '');
  const out: LayerSensitivity[] = [];
  for (const [i, name] of names.entries()) {
    // A layer that alone exceeds the budget could never stay fp32: no need to measure it.
    if (macs[i]! > FP32_MAC_BUDGET * total) continue;
    const keepFp32 = new Set(names.filter((n) => n !== name));
    const q = toQdq(model, { ranges: o.ranges, activationBits: o.activationBits, keepFp32 });
    const got = centredLogits((await predict(encodeModel(q), images, o.preprocess)).probabilities, classes);
    let sq = 0;
    for (let k = 0; k < ref.length; k++) sq += (got[k]! - ref[k]!) ** 2;
    out.push({ node: name, score: sq / Math.max(1, images.length), macs: macs[i]! });
  }
  return { layers: out, totalMacs: total };
}

/**
 * The layers that may stay fp32, most sensitive first, as long as together they stay within the
 * MAC budget and at least one op stays int8. Layers whose int8 error is zero are never listed.
 */
export function fp32Candidates(
  sensitivity: readonly LayerSensitivity[],
  totalMacs: number,
  ops: number,
): string[] {
  const ranked = [...sensitivity].filter((s) => s.score > 0).sort((a, b) => b.score - a.score);
  const chosen: string[] = [];
  let macs = 0;
  for (const s of ranked) {
    if (chosen.length + 1 >= ops) break;
    if (macs + s.macs > FP32_MAC_BUDGET * totalMacs) continue;
    chosen.push(s.node);
    macs += s.macs;
  }
  return chosen;
}
