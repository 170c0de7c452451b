/**
 * The accuracy gate for a quantized variant. Bit parity cannot hold for int8, so instead, on the
 * held-out set, its accuracy must stay within `maxAccuracyDropPoints` of fp32 and its top-1 must
 * agree with fp32 on at least `minTop1Agreement` of the images. The embedding's cosine to fp32 is
 * reported (not gated: a head can be robust to a small embedding shift).
 */
import type { PreprocessSpec } from '../../shared/manifest/preprocess.ts';
import { runImages } from '../../shared/preprocess/run-images.ts';
import type { RawImage } from '../../shared/preprocess/types.ts';
import { EMBEDDING, PROBABILITIES } from '../export/assemble.ts';
import { createOrtNodeRunner } from '../inference/ort-node-runner.ts';

export const DEFAULT_MAX_ACCURACY_DROP_POINTS = 0.5;
export const MIN_TOP1_AGREEMENT = 0.99;

export interface Predictions {
  top1: Int32Array;
  /** Class probabilities, one row per image. */
  probabilities: Float32Array;
  embeddings: Float32Array;
  embeddingDim: number;
}

function concat(chunks: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(chunks.reduce((s, c) => s + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Top-1, probabilities and embedding of every image, from onnxruntime-node. */
export async function predict(
  bytes: Uint8Array,
  images: readonly RawImage[],
  preprocess: PreprocessSpec,
): Promise<Predictions> {
  const runner = await createOrtNodeRunner(bytes, { device: 'cpu' });
  const top1 = new Int32Array(images.length);
  const chunks: Float32Array[] = [];
  const probChunks: Float32Array[] = [];
  try {
    await runImages(
      runner,
      images.length,
      (i) => images[i]!,
      preprocess,
      (start, n, outputs) => {
        const p = outputs[PROBABILITIES]!;
        const classes = p.length / n;
        for (let i = 0; i < n; i++) {
          let best = 0;
          for (let k = 1; k < classes; k++) if (p[i * classes + k]! > p[i * classes + best]!) best = k;
          top1[start + i] = best;
        }
        chunks.push(Float32Array.from(outputs[EMBEDDING]!));
        probChunks.push(Float32Array.from(p));
      },
      { outputs: [PROBABILITIES, EMBEDDING], fixedBatch: runner.fixedBatch },
    );
  } finally {
    await runner.release();
  }
  const embeddings = concat(chunks);
  return {
    top1,
    probabilities: concat(probChunks),
    embeddings,
    embeddingDim: images.length ? embeddings.length / images.length : 0,
  };
}

export interface GateResult {
  passed: boolean;
  /** Why it failed, in one line; absent when it passed. */
  reason?: string;
  fp32Accuracy: number;
  accuracy: number;
  accuracyDropPoints: number;
  top1Agreement: number;
  /** Mean cosine similarity of the int8 embedding to the fp32 one. */
  embeddingCosine: number;
  samples: number;
  maxAccuracyDropPoints: number;
  minTop1Agreement: number;
}

function cosine(a: Float32Array, b: Float32Array, at: number, dim: number): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let k = at; k < at + dim; k++) {
    dot += a[k]! * b[k]!;
    na += a[k]! * a[k]!;
    nb += b[k]! * b[k]!;
  }
  // Two zero vectors are the same embedding.
  return na === 0 && nb === 0 ? 1 : dot / Math.sqrt(na * nb);
}

export function accuracyGate(
  labels: Int32Array,
  fp32: Predictions,
  int8: Predictions,
  maxAccuracyDropPoints = DEFAULT_MAX_ACCURACY_DROP_POINTS,
  minTop1Agreement = MIN_TOP1_AGREEMENT,
): GateResult {
  const n = labels.length;
  let right32 = 0;
  let right8 = 0;
  let agree = 0;
  let cos = 0;
  for (let i = 0; i < n; i++) {
    if (fp32.top1[i] === labels[i]) right32++;
    if (int8.top1[i] === labels[i]) right8++;
    if (fp32.top1[i] === int8.top1[i]) agree++;
    cos += cosine(fp32.embeddings, int8.embeddings, i * fp32.embeddingDim, fp32.embeddingDim);
  }
  const fp32Accuracy = right32 / n;
  const accuracy = right8 / n;
  // Rounded to 1e-9 so that e.g. 0.5 points exactly is not failed by float noise.
  const accuracyDropPoints = Math.round((fp32Accuracy - accuracy) * 100 * 1e9) / 1e9;
  const top1Agreement = agree / n;
  const reasons: string[] = [];
  if (accuracyDropPoints > maxAccuracyDropPoints) {
    reasons.push(
      `accuracy ${(accuracy * 100).toFixed(2)}% is ${accuracyDropPoints.toFixed(2)} points below fp32 ` +
        `${(fp32Accuracy * 100).toFixed(2)}% (max drop ${maxAccuracyDropPoints})`,
    );
  }
  if (top1Agreement < minTop1Agreement) {
    reasons.push(
      `top-1 agrees with fp32 on ${(top1Agreement * 100).toFixed(2)}% of ${n} held-out images ` +
        `(needs ≥ ${(minTop1Agreement * 100).toFixed(0)}%)`,
    );
  }
  return {
    passed: reasons.length === 0,
    ...(reasons.length ? { reason: reasons.join('; ') } : {}),
    fp32Accuracy,
    accuracy,
    accuracyDropPoints,
    top1Agreement,
    embeddingCosine: n ? cos / n : 1,
    samples: n,
    maxAccuracyDropPoints,
    minTop1Agreement,
  };
}
