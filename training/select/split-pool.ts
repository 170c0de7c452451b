/**
 * Runs the search's expensive splits (re-trained layers, the scratch CNN: seconds to minutes each)
 * on a pool of worker threads, ahead of the search that reads them. tfjs' wasm backend has no
 * threads of its own, so this is what puts a second core to work.
 *
 * The search still decides everything in its own order: it asks for split i of a configuration
 * when the sequential search would train it, and racing or the budget may stop a configuration
 * before its queued splits are asked for — those are dropped unstarted, and one already running
 * is discarded. Each split is a pure function of its inputs and seed, so the table is the one a
 * sequential search gives (only the budget, which stops a split at a point in time, can differ).
 */
import fs from 'node:fs';
import os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { EdgetuneError } from '../../shared/errors.ts';
import type { RawImage } from '../../shared/preprocess/types.ts';
import type { BackendRequest } from '../tf/backend.ts';
import type { PhaseEpochs } from '../fit/phases.ts';
import type { TransferHyper } from '../train/hyper.ts';
import { gatherRows } from '../fit/loop.ts';
import { TaskPool } from '../workers/task-pool.ts';
import { BudgetSpent, type Rows, type TransferInput } from './fit.ts';
import type { Configuration } from './space.ts';
import { compactRows, type SplitJob, type SplitResult, suffixArtifacts } from './split-jobs.ts';
import type { SplitWorkerInit } from './split-worker.ts';

/** `EDGETUNE_SELECT_WORKERS=1` keeps every split on the main thread. */
export const SELECT_WORKERS_ENV = 'EDGETUNE_SELECT_WORKERS';
/**
 * `EDGETUNE_SELECT_TIMELINE=<file>`: when each split started and ended on the pool (ms since the
 * pool opened), written at close — to see where a worker waits (bench/select/timeline.ts sums it).
 */
export const SELECT_TIMELINE_ENV = 'EDGETUNE_SELECT_TIMELINE';

export interface TimelineEntry {
  key: string;
  start: number;
  end: number;
  outcome: 'probs' | 'budgetSpent' | 'cancelled' | 'failed';
}

/** Worker threads for the search: `requested`, else the env, else min(2, available cores). */
export function selectWorkers(requested?: number): number {
  const env = process.env[SELECT_WORKERS_ENV];
  const n = requested ?? (env ? Number(env) : Math.min(2, os.availableParallelism()));
  if (!Number.isInteger(n) || n < 1) {
    throw new EdgetuneError(
      'bad_request',
      `${requested === undefined ? SELECT_WORKERS_ENV : 'workers'} must be a whole number ≥ 1, got '${requested ?? env}'`,
    );
  }
  return n;
}

/** What a split of one configuration needs beside its rows. */
export type SplitSource =
  | { kind: 'transfer'; config: Configuration; input: TransferInput; hyper: TransferHyper }
  | {
      kind: 'scratch';
      images: readonly RawImage[];
      shape: { side: number; channels: 1 | 3; batchSize: number };
    };

interface Entry {
  owner: object;
  make: () => Promise<SplitJob>;
  /** Shared with the worker: set when the split's answer will not be read. */
  cancelled: Int32Array;
  result?: Promise<SplitResult>;
  /** Started and not yet answered. */
  running?: boolean;
}

/**
 * The queued split to start next: the first, in the order the search will ask for them, of a
 * configuration with no split running; else the first. A configuration with a split running may
 * be stopped by racing on that split's answer, which would discard a second split of it started
 * now (a search whose fine-tuning split ran while the last scratch split waited, then was
 * discarded, ended ~10 s later); and the search cannot ask for that second split before the
 * running one answers, when it is the first eligible again. Which split runs when never changes
 * what the search reads, only how soon.
 */
export function nextSplit<E extends { owner: object; started: boolean; running: boolean }>(
  queue: readonly E[],
): E | undefined {
  const busy = new Set(queue.filter((e) => e.running).map((e) => e.owner));
  const waiting = queue.filter((e) => !e.started);
  return waiting.find((e) => !busy.has(e.owner)) ?? waiting[0];
}

export class SplitPool {
  private readonly pool: TaskPool<SplitJob, SplitResult, SplitWorkerInit>;
  /** Splits in the order the search will ask for them; started ones carry their result. */
  private readonly entries = new Map<string, Entry>();
  private readonly suffixes = new Map<TransferInput, Promise<tf.io.ModelArtifacts>>();
  private running = 0;
  private readonly opened = performance.now();
  private readonly timeline: TimelineEntry[] = [];
  /** Splits run at once (lowered while the main thread trains heads). */
  slots: number;

  constructor(
    size: number,
    private readonly y: Int32Array,
    private readonly classes: number,
    private readonly deadline: number | undefined,
  ) {
    const backend: BackendRequest =
      tf.getBackend() === 'tensorflow' ? 'node' : (tf.getBackend() as BackendRequest);
    this.pool = new TaskPool({
      module: new URL('./split-worker.ts', import.meta.url),
      init: { backend },
      size,
      label: 'cross-validation split',
    });
    this.slots = size;
  }

  /**
   * Queues split `key` of `owner` (started when a slot is free). Rows given as a function are
   * worked out when it starts (a split that needs another's answer first waits for it then).
   */
  ahead(
    owner: object,
    key: string,
    source: SplitSource,
    rows: Rows | (() => Promise<Rows>),
    seed: number,
  ): void {
    if (this.entries.has(key)) return;
    const cancelled = new Int32Array(new SharedArrayBuffer(4));
    this.entries.set(key, {
      owner,
      cancelled,
      make: async () => this.job(source, typeof rows === 'function' ? await rows() : rows, seed, cancelled),
    });
    this.pump();
  }

  /** The probabilities of split `key`, queued with `ahead` (started now if it had not been). */
  async take(key: string): Promise<{ probs: Float32Array; epochs: PhaseEpochs | null; seconds: number }> {
    const e = this.entries.get(key);
    if (!e) throw new Error(`internal: split ${key} was never queued`);
    if (!e.result) this.start(e, key);
    const r = await e.result!;
    this.entries.delete(key);
    if ('budgetSpent' in r) throw new BudgetSpent('search budget spent');
    if ('cancelled' in r) throw new Error(`internal: split ${key} was cancelled, then asked for`);
    return r;
  }

  /** Drops the splits of `owner` not yet started (racing or the budget stopped it). */
  drop(owner: object): void {
    for (const [key, e] of this.entries)
      if (e.owner === owner) {
        this.entries.delete(key);
        // A running split stops at the end of its current epoch (its answer would not be read),
        // which frees its worker for a split the search still wants.
        Atomics.store(e.cancelled, 0, 1);
        e.result?.catch(() => {});
      }
  }

  get size(): number {
    return this.pool.size;
  }

  setSlots(n: number): void {
    this.slots = n;
    const now = performance.now() - this.opened;
    this.timeline.push({ key: `slots=${n}`, start: now, end: now, outcome: 'probs' });
    this.pump();
  }

  private pump(): void {
    while (this.running < this.slots) {
      const queue = [...this.entries].map(([key, e]) => ({
        key,
        e,
        owner: e.owner,
        started: e.result !== undefined,
        running: e.running === true,
      }));
      const next = nextSplit(queue);
      if (!next) return;
      this.start(next.e, next.key);
    }
  }

  private start(e: Entry, key: string): void {
    this.running++;
    e.running = true;
    const start = performance.now() - this.opened;
    e.result = e.make().then((job) => this.pool.run(job, []));
    e.result
      .then(
        (r): TimelineEntry['outcome'] =>
          'probs' in r ? 'probs' : 'budgetSpent' in r ? 'budgetSpent' : 'cancelled',
        (): TimelineEntry['outcome'] => 'failed',
      )
      .then((outcome) => this.timeline.push({ key, start, end: performance.now() - this.opened, outcome }))
      .finally(() => {
        this.running--;
        e.running = false;
        this.pump();
      })
      .catch(() => {});
  }

  private async job(source: SplitSource, rows: Rows, seed: number, cancelled: Int32Array): Promise<SplitJob> {
    const c = compactRows(rows);
    const common = {
      y: Int32Array.from(c.take, (r) => this.y[r]!),
      classes: this.classes,
      rows: c.rows,
      seed,
      deadline: this.deadline === undefined ? undefined : performance.timeOrigin + this.deadline,
      cancelled,
    };
    if (source.kind === 'scratch') {
      return {
        ...common,
        kind: 'scratch',
        images: c.take.map((r) => source.images[r]!),
        shape: source.shape,
      };
    }
    const { input } = source;
    const item = input.itemShape.reduce((a, b) => a * b, 1);
    const { x } = gatherRows(input.x, this.y, item, c.take);
    let suffix: tf.io.ModelArtifacts | undefined;
    if (input.keras) {
      let pending = this.suffixes.get(input);
      if (!pending) {
        pending = suffixArtifacts(input.keras, input.itemShape);
        this.suffixes.set(input, pending);
      }
      suffix = await pending;
    }
    return {
      ...common,
      kind: 'transfer',
      config: source.config,
      x,
      itemShape: input.itemShape,
      suffix,
      hyper: source.hyper,
    };
  }

  async close(): Promise<void> {
    this.entries.clear();
    await this.pool.close();
    const file = process.env[SELECT_TIMELINE_ENV];
    if (file) fs.writeFileSync(file, JSON.stringify(this.timeline));
  }
}
