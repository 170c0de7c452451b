/**
 * A bounded pool of worker threads that run one kind of task: each worker loads a TypeScript
 * module that answers requests (`serveTasks`), the pool hands requests to the least loaded
 * worker, up to `inFlightPerWorker` each, and resolves each request with its answer. A worker
 * that crashes fails every outstanding request and the pool; a request that fails in the worker
 * rejects with the worker's error code and message.
 */
import { type Transferable, Worker } from 'node:worker_threads';
import { EdgetuneError, type ErrorCode } from '../../shared/errors.ts';
import type { TaskReply, TaskRequest, TaskWorkerData } from './task-protocol.ts';

export interface TaskPoolOptions<Init> {
  /** The worker body (a .ts module calling `serveTasks`). */
  module: URL;
  /** Handed to every worker as its `init`. */
  init: Init;
  size: number;
  /** Requests handed to one worker before it answers (the rest wait in the pool's queue). */
  inFlightPerWorker?: number;
  /** What the tasks are, for the error a crash gives ("image decoding"). */
  label: string;
}

interface Job<Res> {
  req: unknown;
  transfer: Transferable[];
  resolve: (r: Res) => void;
  reject: (e: Error) => void;
}

export class TaskPool<Req, Res, Init = unknown> {
  readonly size: number;
  private readonly inFlight: number;
  private readonly label: string;
  private readonly workers: Worker[] = [];
  private readonly queue: Job<Res>[] = [];
  private readonly running = new Map<number, Job<Res>>();
  /** Requests handed to each worker and not yet answered. */
  private readonly load = new Map<Worker, number>();
  private seq = 0;
  private failed: Error | undefined;
  private closing = false;

  constructor(o: TaskPoolOptions<Init>) {
    this.size = o.size;
    this.inFlight = o.inFlightPerWorker ?? 1;
    this.label = o.label;
    const workerData: TaskWorkerData = { module: o.module.href, init: o.init };
    for (let i = 0; i < o.size; i++) {
      // Loaders registered on the main thread do not reach worker threads: the entry registers tsx.
      const w = new Worker(new URL('./task-worker.mjs', import.meta.url), { workerData });
      w.on('message', (res: TaskReply<Res>) => this.finish(w, res));
      w.on('error', (e) => this.crash(e));
      w.on('exit', (code) => {
        if (code !== 0 && !this.closing) this.crash(new Error(`worker exited with code ${code}`));
      });
      this.workers.push(w);
      this.load.set(w, 0);
    }
  }

  /** Runs `req` on a worker; `transfer` lists buffers moved rather than copied. */
  run(req: Req, transfer: Transferable[] = []): Promise<Res> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.queue.push({ req, transfer, resolve, reject });
      this.pump();
    });
  }

  /** Requests handed out and not yet answered, plus those waiting. */
  get pending(): number {
    return this.running.size + this.queue.length;
  }

  private pump(): void {
    while (this.queue.length > 0) {
      let w = this.workers[0]!;
      for (const x of this.workers) if (this.load.get(x)! < this.load.get(w)!) w = x;
      if (this.load.get(w)! >= this.inFlight) return;
      const job = this.queue.shift()!;
      const seq = ++this.seq;
      this.running.set(seq, job);
      this.load.set(w, this.load.get(w)! + 1);
      const msg: TaskRequest = { seq, req: job.req };
      w.postMessage(msg, job.transfer);
    }
  }

  private finish(w: Worker, reply: TaskReply<Res>): void {
    const job = this.running.get(reply.seq);
    this.running.delete(reply.seq);
    this.load.set(w, Math.max(0, this.load.get(w)! - 1));
    if (job) {
      if (reply.error) job.reject(new EdgetuneError(reply.error.code as ErrorCode, reply.error.message));
      else job.resolve(reply.res as Res);
    }
    this.pump();
  }

  private crash(e: Error): void {
    this.failed ??= new EdgetuneError('internal', `${this.label} failed: ${e.message}`, { cause: e });
    for (const job of [...this.running.values(), ...this.queue.splice(0)]) job.reject(this.failed);
    this.running.clear();
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
