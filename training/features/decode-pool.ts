/**
 * A bounded pool of worker threads that turn image files into model input tensors, so decoding
 * uses every core while onnxruntime-node runs the frozen prefix on the main thread's batches.
 * onnxruntime-node's `run` is synchronous on the main thread: while a batch runs, no message from
 * a worker is handled and nothing new can be handed out. So each worker is given up to
 * IN_FLIGHT_PER_WORKER files at once and keeps decoding its queue meanwhile (with one file each,
 * the workers sat idle for the length of every run). The caller decides how many batches are
 * outstanding, which is what bounds memory.
 */
import os from 'node:os';
import { TaskPool } from '../workers/task-pool.ts';
import type { DecodeRequest, DecodeResponse, DecodeWorkerInit } from './decode-protocol.ts';

export type DecodedTensor = DecodeResponse;

/** Files handed to one worker at once: enough to outlast one batch's onnxruntime run. */
const IN_FLIGHT_PER_WORKER = 16;

export class DecodePool {
  readonly size: number;
  private readonly pool: TaskPool<DecodeRequest, DecodeResponse, DecodeWorkerInit>;

  constructor(init: DecodeWorkerInit, size = Math.max(1, os.availableParallelism())) {
    this.size = size;
    this.pool = new TaskPool({
      module: new URL('./decode-worker.ts', import.meta.url),
      init,
      size,
      inFlightPerWorker: IN_FLIGHT_PER_WORKER,
      label: 'image decoding',
    });
  }

  decode(path: string): Promise<DecodedTensor> {
    return this.pool.run({ path });
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
