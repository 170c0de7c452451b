/**
 * Post-training int8 quantization of an export: calibrate activations on training images, build
 * the QDQ model, and run the accuracy gate on the held-out set against fp32. Both calibration
 * methods are measured on full int8; if neither passes, the first conv and the head are kept in
 * fp32 (the layers most sensitive to quantization) and the better method is tried again.
 */
import { createHash } from 'node:crypto';
import type { QuantizedVariant } from '../../shared/manifest/manifest.ts';
import { ENGINE_IDS } from '../../shared/inference/engines.ts';
import type { PreprocessSpec } from '../../shared/manifest/preprocess.ts';
import { decodeModel, encodeModel } from '../../shared/onnx/proto.ts';
import type { RawImage } from '../../shared/preprocess/types.ts';
import { CALIBRATION_METHODS, type CalibrationMethod, calibrate } from './calibrate.ts';
import { accuracyGate, DEFAULT_MAX_ACCURACY_DROP_POINTS, type GateResult, predict } from './gate.ts';
import { type ActivationBits, quantizableOps, toQdq } from './qdq.ts';

export const INT8_FILE = 'model.int8.onnx';

export interface QuantizeOptions {
  /** Calibration images (the training images). */
  calibration: readonly RawImage[];
  heldOut: { images: readonly RawImage[]; labels: Int32Array };
  preprocess: PreprocessSpec;
  maxAccuracyDropPoints?: number;
  /** One method, or 'auto' (measure both, keep the better). */
  method?: CalibrationMethod | 'auto';
  activationBits?: ActivationBits;
  log?: (line: string) => void;
}

export interface QuantizeAttempt {
  method: CalibrationMethod;
  fp32Nodes: string[];
  gate: GateResult;
}

export interface QuantizeOutcome {
  variant: QuantizedVariant;
  /** The QDQ model when it passed its gate (to be stored as INT8_FILE), else null. */
  bytes: Uint8Array | null;
  attempts: QuantizeAttempt[];
}

/** Better = passes, then higher agreement, then smaller accuracy drop. */
function better(a: QuantizeAttempt, b: QuantizeAttempt): boolean {
  if (a.gate.passed !== b.gate.passed) return a.gate.passed;
  if (a.gate.top1Agreement !== b.gate.top1Agreement) return a.gate.top1Agreement > b.gate.top1Agreement;
  return a.gate.accuracyDropPoints < b.gate.accuracyDropPoints;
}

export async function quantizeInt8(fp32: Uint8Array, options: QuantizeOptions): Promise<QuantizeOutcome> {
  const log = options.log ?? (() => {});
  const bits = options.activationBits ?? 7;
  const maxDrop = options.maxAccuracyDropPoints ?? DEFAULT_MAX_ACCURACY_DROP_POINTS;
  const model = decodeModel(fp32);
  const ops = quantizableOps(model);
  const activations = [...new Set(ops.map((o) => o.activation))];
  const cal = await calibrate(fp32, activations, options.calibration, options.preprocess);
  log(`int8: calibrated ${activations.length} activations on ${cal.samples} images`);
  const reference = await predict(fp32, options.heldOut.images, options.preprocess);
  const attempts: QuantizeAttempt[] = [];
  const models = new Map<QuantizeAttempt, Uint8Array>();
  const tryOne = async (method: CalibrationMethod, fp32Nodes: string[]) => {
    const q = encodeModel(
      toQdq(model, { ranges: cal.ranges[method], activationBits: bits, keepFp32: new Set(fp32Nodes) }),
    );
    const got = await predict(q, options.heldOut.images, options.preprocess);
    const gate = accuracyGate(options.heldOut.labels, reference, got, maxDrop);
    const attempt = { method, fp32Nodes, gate };
    attempts.push(attempt);
    models.set(attempt, q);
    log(
      `int8 (${method}${fp32Nodes.length ? `, fp32: ${fp32Nodes.join(', ')}` : ''}): accuracy ` +
        `${(gate.accuracy * 100).toFixed(2)}% vs fp32 ${(gate.fp32Accuracy * 100).toFixed(2)}%, top-1 agreement ` +
        `${(gate.top1Agreement * 100).toFixed(2)}%, embedding cosine ${gate.embeddingCosine.toFixed(4)}`,
    );
    return attempt;
  };
  const methods = !options.method || options.method === 'auto' ? CALIBRATION_METHODS : [options.method];
  for (const m of methods) await tryOne(m, []);
  let best = attempts.reduce((a, b) => (better(b, a) ? b : a));
  if (!best.gate.passed) {
    const firstConv = ops.find((o) => o.node.opType === 'Conv')?.node.name;
    const head = ops.filter((o) => o.node.opType !== 'Conv').at(-1)?.node.name;
    const sensitive = [firstConv, head].filter((n): n is string => !!n);
    // Only when some op stays int8: all-fp32 is not a quantized variant.
    if (sensitive.length && sensitive.length < ops.length) {
      const retry = await tryOne(best.method, sensitive);
      if (better(retry, best)) best = retry;
    }
  }
  const bytes = best.gate.passed ? models.get(best)! : null;
  const { passed, reason, ...gate } = best.gate;
  const variant: QuantizedVariant = {
    kind: 'int8',
    published: passed,
    ...(bytes
      ? { file: INT8_FILE, sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.byteLength }
      : {}),
    ...(reason ? { reason } : {}),
    scheme: {
      weights: 'int8-symmetric-per-channel',
      activationBits: bits,
      calibration: best.method,
      calibrationSamples: cal.samples,
      fp32Nodes: best.fp32Nodes,
    },
    gate,
    engines: passed ? [ENGINE_IDS.onnxruntime] : [],
  };
  return { variant, bytes, attempts };
}
