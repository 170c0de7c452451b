/**
 * One cross-validation split of a re-trained-layer or scratch configuration as a self-contained,
 * structured-clonable job, and how a worker thread runs it: the same `trainTransfer` / `trainScratch`
 * the search runs in-process, so a split gives the same probabilities on either side.
 *
 * The layers to re-train cannot cross threads as tfjs objects: they travel as a small tfjs model
 * (boundary → feature layer, the backbone's own layers and weights, BatchNorm not yet folded),
 * which the worker loads and walks back into the node list `buildTrainable` takes.
 */
import * as tf from '@tensorflow/tfjs';
import type { RawImage } from '../../shared/preprocess/types.ts';
import { walkModel } from '../backbones/convert/graph.ts';
import type { PhaseEpochs } from '../fit/phases.ts';
import type { TransferHyper } from '../train/hyper.ts';
import {
  BudgetSpent,
  type Fitted,
  trainScratch,
  trainTransfer,
  type Rows,
  SplitCancelled,
  type TransferInput,
} from './fit.ts';
import type { Configuration } from './space.ts';

export type SplitJob = (
  | {
      kind: 'transfer';
      config: Configuration;
      /** Activations of the job's rows only (see `compactRows`). */
      x: Float32Array;
      itemShape: number[];
      suffix?: tf.io.ModelArtifacts;
      hyper: TransferHyper;
    }
  | {
      kind: 'scratch';
      images: RawImage[];
      shape: { side: number; channels: 1 | 3; batchSize: number };
    }
) & {
  y: Int32Array;
  classes: number;
  rows: Rows;
  seed: number;
  /** Epoch milliseconds (performance.timeOrigin differs between threads). */
  deadline?: number;
  /**
   * Set to non-zero (by the asking thread, on a SharedArrayBuffer) when the search no longer wants
   * the split: it stops at the end of its current epoch instead of training on unread.
   */
  cancelled?: Int32Array;
};

export type SplitResult =
  | { probs: Float32Array; epochs: PhaseEpochs | null; seconds: number }
  | { budgetSpent: true; seconds: number }
  | { cancelled: true; seconds: number };

/** The rows a split reads, renumbered 0..m−1, and the old index of each new one. */
export function compactRows(rows: Rows): { rows: Rows; take: number[] } {
  const take = [...new Set([...rows.train, ...rows.val, ...rows.predict])].sort((a, b) => a - b);
  const at = new Map(take.map((r, i) => [r, i]));
  const map = (idx: number[]) => idx.map((r) => at.get(r)!);
  return {
    rows: { ...rows, train: map(rows.train), val: map(rows.val), predict: map(rows.predict) },
    take,
  };
}

/** The layers after the boundary as a standalone tfjs model, saved into memory. */
export async function suffixArtifacts(keras: NonNullable<TransferInput['keras']>, itemShape: number[]) {
  const input = tf.input({ shape: itemShape });
  const mapped = new Map<number, tf.SymbolicTensor>([[keras.boundary.id, input]]);
  let last = input;
  for (const node of keras.nodes) {
    const ins = node.inputTensors.map((t) => mapped.get(t.id)!);
    // Calling a built layer again adds a node that shares its weights; the backbone's own graph
    // is left as it is.
    last = node.outboundLayer.apply(ins.length === 1 ? ins[0]! : ins) as tf.SymbolicTensor;
    mapped.set(node.outputTensors[0]!.id, last);
  }
  const model = tf.model({ inputs: input, outputs: last });
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      saved = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return saved!;
}

export async function runSplitJob(job: SplitJob): Promise<SplitResult> {
  const started = performance.now();
  const deadline = job.deadline === undefined ? undefined : job.deadline - performance.timeOrigin;
  const seconds = () => (performance.now() - started) / 1000;
  let suffix: tf.LayersModel | undefined;
  try {
    let fitted: Fitted;
    if (job.kind === 'scratch') {
      fitted = await trainScratch(
        job.images,
        job.y,
        job.classes,
        job.rows,
        job.seed,
        job.shape,
        deadline,
        job.cancelled,
      );
    } else {
      let keras: TransferInput['keras'];
      if (job.suffix) {
        suffix = await tf.loadLayersModel(tf.io.fromMemory(job.suffix));
        const nodes = walkModel(suffix).order.filter((n) => n.outboundLayer.getClassName() !== 'InputLayer');
        keras = { nodes, boundary: suffix.inputs[0]! };
      }
      fitted = await trainTransfer(
        job.config,
        { x: job.x, itemShape: job.itemShape, keras },
        job.y,
        job.classes,
        job.rows,
        job.seed,
        job.hyper,
        deadline,
        job.cancelled,
      );
    }
    return { ...fitted, seconds: seconds() };
  } catch (e) {
    if (e instanceof BudgetSpent) return { budgetSpent: true, seconds: seconds() };
    if (e instanceof SplitCancelled) return { cancelled: true, seconds: seconds() };
    throw e;
  } finally {
    suffix?.dispose();
  }
}
