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
import { Worker } from 'node:worker_threads';
import { EdgetuneError } from '../../shared/errors.ts';
import type { DecodeRequest, DecodeResponse, DecodeWorkerInit } from './decode-protocol.ts';

export interface DecodedTensor {
  tensor: Float32Array;
  width: number;
  height: number;
  channels: number;
  ms: number;
}

/** Files handed to one worker at once: enough to outlast one batch's onnxruntime run. */
const IN_FLIGHT_PER_WORKER = 16;

interface Job {
  path: string;
  resolve: (d: DecodedTensor) => void;
  reject: (e: Error) => void;
}

export class DecodePool {
  readonly size: number;
  private readonly workers: Worker[] = [];
  private readonly queue: Job[] = [];
  private readonly running = new Map<number, Job>();
  /** Files handed to each worker and not yet answered. */
  private readonly load = new Map<Worker, number>();
  private seq = 0;
  private failed: Error | undefined;
  private closing = false;

  constructor(init: DecodeWorkerInit, size = Math.max(1, os.availableParallelism())) {
    this.size = size;
    for (let i = 0; i < size; i++) {
      const w = new Worker(new URL('./decode-worker.mjs', import.meta.url), { workerData: init });
      w.on('message', (res: DecodeResponse) => this.finish(w, res));
      w.on('error', (e) => this.crash(e));
      w.on('exit', (code) => {
        if (code !== 0 && !this.closing) this.crash(new Error(`decode worker exited with code ${code}`));
      });
      this.workers.push(w);
      this.load.set(w, 0);
    }
  }

  decode(path: string): Promise<DecodedTensor> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.queue.push({ path, resolve, reject });
      this.pump();
    });
  }

  /** Hands queued files to the least loaded workers, up to IN_FLIGHT_PER_WORKER each. */
  private pump(): void {
    while (this.queue.length > 0) {
      let w = this.workers[0]!;
      for (const x of this.workers) if (this.load.get(x)! < this.load.get(w)!) w = x;
      if (this.load.get(w)! >= IN_FLIGHT_PER_WORKER) return;
      const job = this.queue.shift()!;
      const seq = ++this.seq;
      this.running.set(seq, job);
      this.load.set(w, this.load.get(w)! + 1);
      const req: DecodeRequest = { seq, path: job.path };
      w.postMessage(req);
    }
  }

  private finish(w: Worker, res: DecodeResponse): void {
    const job = this.running.get(res.seq);
    this.running.delete(res.seq);
    this.load.set(w, Math.max(0, this.load.get(w)! - 1));
    if (job) {
      if (res.error) job.reject(new EdgetuneError(res.error.code, res.error.message));
      else
        job.resolve({
          tensor: res.tensor,
          width: res.width,
          height: res.height,
          channels: res.channels,
          ms: res.ms,
        });
    }
    this.pump();
  }

  private crash(e: Error): void {
    this.failed ??= new EdgetuneError('internal', `image decoding failed: ${e.message}`, { cause: e });
    for (const job of [...this.running.values(), ...this.queue.splice(0)]) job.reject(this.failed);
    this.running.clear();
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
