/**
 * onnxruntime-node sessions for the training side: the frozen prefix, and the parity gate on the
 * exported model (run through `createOrtNodeRunner` in training/inference/ort-node-runner.ts and the
 * shared `runBatched`). All cores by default; the CUDA execution provider when `device` allows it and
 * the CUDA build of onnxruntime-node is installed (on GPU hosts; see training/device.ts), else CPU.
 */
import os from 'node:os';
import * as ort from '../inference/ort-node.ts';
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
  /**
   * Whether idle intra-op threads spin-wait for the next operator (onnxruntime's default: lowest
   * latency on otherwise idle cores). false when other threads share the cores, such as the
   * decode pool while streamed images are featurised: MobileNetV2 on 2 threads measured
   * 11–13 CPU-ms per image spinning vs 5–9 not, CPU the decoders then lacked.
   */
  spinning?: boolean;
  log?: (message: string) => void;
}

/** The batch size a graph insists on (a fixed first input dim), else undefined. */
export function fixedBatchOf(bytes: Uint8Array): number | undefined {
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
    // Session config key session.intra_op.allow_spinning (the Node binding flattens `extra`).
    ...(options.spinning === false ? { extra: { session: { intra_op: { allow_spinning: '0' } } } } : {}),
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
