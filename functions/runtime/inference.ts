import { EdgetuneError } from '../../shared/errors.ts';
import type { ModelManifest } from '../../shared/manifest/manifest.ts';
import type { PreprocessSpec } from '../../shared/manifest/preprocess.ts';
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

/**
 * The batch size a graph is fixed at (publish checks that the manifest says what the graph says),
 * or undefined when its batch dimension is free (symbolic, -1 or 0).
 */
export function fixedBatch(manifest: ModelManifest): number | undefined {
  const first = manifest.input.shape[0];
  return typeof first === 'number' && first >= 1 ? first : undefined;
}

/**
 * Runs preprocessed items through the session: one run for the whole batch when the graph has a
 * free batch dimension; for a graph fixed at batch B, runs of exactly B items (a short last run is
 * filled with copies of its last item, whose outputs are dropped). Outputs are split back per item.
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
  const fixed = fixedBatch(manifest);
  if (fixed === undefined) return runBatch(session, items, shape);
  const out: ItemOutputs[] = [];
  for (let at = 0; at < items.length; at += fixed) {
    const run = items.slice(at, at + fixed);
    const real = run.length;
    while (run.length < fixed) run.push(run[real - 1]!);
    out.push(...(await runBatch(session, run, shape)).slice(0, real));
  }
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
