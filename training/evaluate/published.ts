/**
 * Evaluates a PUBLISHED version on raw images: its model.onnx from the store (size and checksum
 * verified) in onnxruntime-node, inputs made by the shared preprocessing from the version's own manifest —
 * what the edge does. The retrain gate runs this for the candidate and the stable on the same
 * holdout, so both numbers come from one procedure. Predictions are compared by label NAME, so two
 * versions with different label lists (a new class) are still scored on the same samples.
 */
import { EdgetuneError } from '../../shared/errors.ts';
import { readVerifiedVersionFile } from '../../shared/registry/model-file.ts';
import { requireManifest } from '../../shared/registry/versions.ts';
import { runImages } from '../../shared/preprocess/run-images.ts';
import type { ObjectStore } from '../../shared/store/types.ts';
import type { Dataset } from '../datasets/types.ts';
import type { Device } from '../features/session.ts';
import { createOrtNodeRunner } from '../inference/ort-node-runner.ts';
import { type Evaluation, evaluatePredictions } from './metrics.ts';

export interface VersionEvaluation {
  version: string;
  /** The label list scored over: the dataset's labels, then labels only the model has. */
  labels: string[];
  evaluation: Evaluation;
  /** Predicted label name per sample (in the dataset's sample order). */
  predicted: string[];
}

export async function evaluatePublishedVersion(
  store: ObjectStore,
  model: string,
  version: string,
  data: Dataset,
  options: { device?: Device } = {},
): Promise<VersionEvaluation> {
  if (data.samples.length === 0) throw new EdgetuneError('bad_request', 'nothing to evaluate on');
  const manifest = await requireManifest(store, model, version);
  const bytes = await readVerifiedVersionFile(store, model, version, manifest.model);

  const labels = [...data.labels, ...manifest.labels.filter((l) => !data.labels.includes(l))];
  const column = manifest.labels.map((l) => labels.indexOf(l));
  const probs = new Float32Array(data.samples.length * labels.length);
  const runner = await createOrtNodeRunner(bytes, { device: options.device ?? 'cpu' });
  try {
    await runImages(
      runner,
      data.samples.length,
      (i) => data.samples[i]!.image,
      manifest.preprocess,
      (start, n, outputs) => {
        const p = outputs[manifest.outputs.probabilities];
        const k = manifest.labels.length;
        if (!p || p.length !== n * k) {
          throw new EdgetuneError(
            'bad_request',
            `${model} ${version} outputs ${p ? p.length / n : 0} probabilities per image; its manifest has ${k} labels`,
          );
        }
        for (let i = 0; i < n; i++)
          for (let c = 0; c < k; c++) probs[(start + i) * labels.length + column[c]!] = p[i * k + c]!;
      },
      { fixedBatch: runner.fixedBatch, outputs: [manifest.outputs.probabilities] },
    );
  } finally {
    await runner.release();
  }
  // Sample labels index data.labels, which is the prefix of `labels`.
  const y = Int32Array.from(data.samples, (s) => s.label);
  const evaluation = evaluatePredictions(probs, y, labels);
  return { version, labels, evaluation, predicted: evaluation.predicted.map((i) => labels[i]!) };
}

/** Accuracy over a subset of sample indices (e.g. the base test part and the feedback part). */
export function subsetAccuracy(
  r: VersionEvaluation,
  data: Dataset,
  indices: readonly number[],
): number | null {
  if (indices.length === 0) return null;
  let hits = 0;
  for (const i of indices) if (r.predicted[i] === data.labels[data.samples[i]!.label]) hits++;
  return hits / indices.length;
}
