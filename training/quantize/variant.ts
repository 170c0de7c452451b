/**
 * Post-training int8 quantization of an export: calibrate activations on training images, build
 * the QDQ model, and run the accuracy gate on the held-out set against fp32. Every calibration
 * method is measured on the fully int8 model; if none passes, the layers whose int8 error hurts
 * the decision most (per-layer sensitivity on calibration images) stay fp32, within a budget of
 * multiply-accumulates, adding them most-sensitive-first (1, 2, 4, … layers) until the gate passes.
 */
import { createHash } from 'node:crypto';
import { INT8_FILE, type QuantizedVariant } from '../../shared/manifest/manifest.ts';
import { ENGINE_IDS } from '../../shared/inference/engines.ts';
import type { PreprocessSpec } from '../../shared/manifest/preprocess.ts';
import { decodeModel, encodeModel } from '../../shared/onnx/proto.ts';
import type { RawImage } from '../../shared/preprocess/types.ts';
import { int8EngineArtifact } from './engine-artifact.ts';
import { CALIBRATION_METHODS, type CalibrationMethod, calibrate } from './calibrate.ts';
import { accuracyGate, DEFAULT_MAX_ACCURACY_DROP_POINTS, type GateResult, predict } from './gate.ts';
import { type ActivationBits, quantizableOps, toQdq } from './qdq.ts';
import { fp32Candidates, layerSensitivity } from './sensitivity.ts';

export { INT8_FILE };

export interface QuantizeOptions {
  /** Calibration images (the training images). */
  calibration: readonly RawImage[];
  heldOut: { images: readonly RawImage[]; labels: Int32Array };
  preprocess: PreprocessSpec;
  maxAccuracyDropPoints?: number;
  /** One method, or 'auto' (measure each, keep the best). */
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
  /** Its engine artifact (to be stored as `variant.engine.file`), when the engine compiles it. */
  engine?: Uint8Array;
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
  const cal = await calibrate(fp32, activations, options.calibration, options.preprocess, bits);
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
  if (!best.gate.passed && ops.length > 1) {
    const { layers, totalMacs } = await layerSensitivity(model, ops, {
      ranges: cal.ranges[best.method],
      activationBits: bits,
      images: options.calibration,
      preprocess: options.preprocess,
      elements: cal.elements,
    });
    const candidates = fp32Candidates(layers, totalMacs, ops.length);
    log(
      `int8: most sensitive layers (fp32 budget ${candidates.length}): ` +
        [...layers]
          .sort((a, b) => b.score - a.score)
          .slice(0, 5)
          .map((l) => `${l.node} ${l.score.toExponential(1)}`)
          .join(', '),
    );
    for (
      let k = 1;
      k <= candidates.length;
      k = k < candidates.length ? Math.min(2 * k, candidates.length) : k + 1
    ) {
      const retry = await tryOne(best.method, candidates.slice(0, k));
      if (better(retry, best)) best = retry;
      if (retry.gate.passed) break;
    }
  }
  const bytes = best.gate.passed ? models.get(best)! : null;
  const engine = bytes ? await int8EngineArtifact(bytes, INT8_FILE, log) : undefined;
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
    ...(engine ? { engine: engine.entry } : {}),
  };
  return { variant, bytes, attempts, ...(engine ? { engine: engine.bytes } : {}) };
}
