import { EdgetuneError } from '../shared/errors.ts';
import type { ModelManifest } from '../shared/manifest/manifest.ts';
import type { PreprocessSpec } from '../shared/manifest/preprocess.ts';
import type { ModelSession } from './session.ts';

/** Per-item outputs of one run. */
export interface ItemOutputs {
  probabilities: Float32Array;
  embedding: Float32Array;
}

/** The shape of one input item (no batch dimension), from the preprocessing contract. */
export function itemShape(spec: PreprocessSpec): number[] {
  return spec.layout === 'NCHW'
    ? [spec.channels, spec.height, spec.width]
    : [spec.height, spec.width, spec.channels];
}

/** Whether the graph accepts more than one item per run (symbolic or -1 batch dimension). */
export function acceptsBatch(manifest: ModelManifest): boolean {
  const first = manifest.input.shape[0];
  return typeof first === 'string' || first === -1 || first === 0;
}

/**
 * Runs preprocessed items through the session: one run for the whole batch when the graph has a
 * free batch dimension, one run per item otherwise. Outputs are split back per item.
 */
export async function runItems(session: ModelSession, items: Float32Array[]): Promise<ItemOutputs[]> {
  const manifest = session.manifest;
  const shape = itemShape(manifest.preprocess);
  const perItem = shape.reduce((a, b) => a * b, 1);
  for (const item of items) {
    if (item.length !== perItem) {
      throw new EdgetuneError(
        'invalid_tensor',
        `input has ${item.length} values; the model takes ${perItem}`,
      );
    }
  }
  if (acceptsBatch(manifest)) return runBatch(session, items, shape);
  const out: ItemOutputs[] = [];
  for (const item of items) out.push(...(await runBatch(session, [item], shape)));
  return out;
}

async function runBatch(
  session: ModelSession,
  items: Float32Array[],
  shape: number[],
): Promise<ItemOutputs[]> {
  const manifest = session.manifest;
  const n = items.length;
  const data = new Float32Array(n * items[0]!.length);
  for (const [i, item] of items.entries()) data.set(item, i * item.length);
  const { probabilities: p, embedding: e } = await session.run(data, [n, ...shape]);
  const classes = p.length / n;
  const dim = e.length / n;
  if (classes !== manifest.labels.length || dim !== manifest.outputs.embeddingDim) {
    throw new EdgetuneError(
      'corrupt',
      `${session.key}: outputs have ${classes} classes and ${dim} embedding values; the manifest says ` +
        `${manifest.labels.length} and ${manifest.outputs.embeddingDim}`,
    );
  }
  return items.map((_, i) => ({
    probabilities: p.slice(i * classes, (i + 1) * classes),
    embedding: e.slice(i * dim, (i + 1) * dim),
  }));
}

export interface Prediction {
  label: string;
  score: number;
}

/** The k best labels, highest score first (ties keep label order). */
export function topK(probabilities: Float32Array, labels: readonly string[], k: number): Prediction[] {
  return Array.from(probabilities, (score, i) => ({ label: labels[i]!, score, i }))
    .sort((a, b) => b.score - a.score || a.i - b.i)
    .slice(0, k)
    .map(({ label, score }) => ({ label, score }));
}

/** Index of the highest probability. */
export function argmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}
