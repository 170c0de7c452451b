/**
 * onnxruntime-node sessions for the training side: the frozen prefix, and the parity gate on the
 * exported model. All cores by default; the CUDA execution provider when `device` allows it and
 * the CUDA build of onnxruntime-node is installed (on GPU hosts; see training/device.ts), else CPU.
 */
import os from 'node:os';
import * as ort from 'onnxruntime-node';
import { EdgetuneError, errorMessage } from '../../shared/errors.ts';
import { decodeModel, toNumber } from '../../shared/onnx/proto.ts';
import { DEVICE_REQUESTS, type DeviceRequest, resolveDevice } from '../device.ts';

export type Device = DeviceRequest;
export const DEVICES: readonly Device[] = DEVICE_REQUESTS;

export interface OrtModel {
  session: ort.InferenceSession;
  provider: 'cpu' | 'cuda';
  inputName: string;
  /** The batch size the graph insists on (a fixed first input dim), else undefined. */
  fixedBatch?: number;
}

export interface SessionOptions {
  device?: Device;
  /** Intra-op threads; default all cores. */
  threads?: number;
  log?: (message: string) => void;
}

function fixedBatchOf(bytes: Uint8Array): number | undefined {
  const g = decodeModel(bytes).graph;
  const initializers = new Set((g?.initializer ?? []).map((t) => t.name));
  const input = (g?.input ?? []).find((i) => !initializers.has(i.name ?? ''));
  const d0 = input?.type?.tensorType?.shape?.dim?.[0];
  const v = d0?.dimValue == null ? 0 : toNumber(d0.dimValue);
  return v > 0 ? v : undefined;
}

export async function createOrtModel(bytes: Uint8Array, options: SessionOptions = {}): Promise<OrtModel> {
  const choice = resolveDevice(options.device ?? 'auto', { log: options.log });
  const base: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: options.threads ?? Math.max(1, os.availableParallelism()),
    graphOptimizationLevel: 'all',
  };
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, {
      ...base,
      executionProviders: choice.executionProviders,
    });
  } catch (e) {
    if (choice.device !== 'cuda' || choice.requested === 'cuda') {
      throw new EdgetuneError('internal', `onnxruntime could not load the model: ${errorMessage(e)}`, {
        cause: e,
      });
    }
    // The CUDA library is installed but unusable here (no GPU visible): CPU, as `auto` promises.
    options.log?.(`onnxruntime: CUDA failed (${errorMessage(e)}); using CPU`);
    session = await ort.InferenceSession.create(bytes, { ...base, executionProviders: ['cpu'] });
    return {
      session,
      provider: 'cpu',
      inputName: session.inputNames[0] ?? 'input',
      fixedBatch: fixedBatchOf(bytes),
    };
  }
  const provider: OrtModel['provider'] = choice.device;
  const inputName = session.inputNames[0];
  if (inputName === undefined) throw new EdgetuneError('bad_request', 'the model has no input');
  return { session, provider, inputName, fixedBatch: fixedBatchOf(bytes) };
}

/**
 * Runs `count` items whose inputs `fill(i, out, offset)` writes (itemSize values each) in batches,
 * and hands each batch's outputs to `take(start, outputs)`.
 */
export async function runBatched(
  model: OrtModel,
  count: number,
  itemDims: readonly number[],
  fill: (index: number, out: Float32Array, offset: number) => void,
  take: (start: number, n: number, outputs: Record<string, Float32Array>) => void,
  options: { batchSize?: number; outputs?: string[]; onBatch?: (n: number) => void } = {},
): Promise<void> {
  const itemSize = itemDims.reduce((a, b) => a * b, 1);
  const batch = model.fixedBatch ?? options.batchSize ?? 64;
  const outputs = options.outputs ?? model.session.outputNames.slice();
  for (let start = 0; start < count; start += batch) {
    const n = Math.min(batch, count - start);
    const data = new Float32Array(batchRows(model, n) * itemSize);
    for (let i = 0; i < n; i++) fill(start + i, data, i * itemSize);
    take(start, n, await runBatch(model, data, n, itemDims, outputs));
    options.onBatch?.(n);
  }
}

/** Rows a batch of `n` items needs: a graph with a fixed batch dim gets padded batches. */
export function batchRows(model: OrtModel, n: number): number {
  return model.fixedBatch ?? n;
}

/** One run on `n` items already in `data` (batchRows(model, n) rows); the outputs' first n rows. */
export async function runBatch(
  model: OrtModel,
  data: Float32Array,
  n: number,
  itemDims: readonly number[],
  outputs: readonly string[],
): Promise<Record<string, Float32Array>> {
  const rows = batchRows(model, n);
  const input = new ort.Tensor('float32', data, [rows, ...itemDims]);
  const result = await model.session.run({ [model.inputName]: input }, outputs);
  const out: Record<string, Float32Array> = {};
  for (const name of outputs) {
    const t = result[name];
    if (t === undefined || !(t.data instanceof Float32Array)) {
      throw new EdgetuneError('internal', `output ${name} is missing or not float32`);
    }
    // A copy, so that the caller may keep rows after the result tensors are released.
    out[name] = t.data.slice(0, (t.data.length / rows) * n);
  }
  input.dispose();
  for (const t of Object.values(result)) t.dispose();
  return out;
}

export async function releaseOrtModel(model: OrtModel): Promise<void> {
  await model.session.release();
}
