import { hostname } from 'node:os';
import { EdgetuneError, errorMessage } from '../../shared/errors.ts';
import { type CanaryReview, reviewCanaries } from '../../shared/jobs/canary-review.ts';
import type { AgreementVerdict } from '../../shared/jobs/agreement.ts';
import { decideCanary } from '../../shared/jobs/gate.ts';
import {
  appendLog,
  claimJob,
  DEFAULT_MAX_ATTEMPTS,
  finishJob,
  heartbeat,
  type Lease,
  listJobs,
  reclaimJob,
} from '../../shared/jobs/ledger.ts';
import { readPolicy } from '../../shared/jobs/policy.ts';
import {
  type GateDecision,
  type Job,
  type JobLogLine,
  type RetrainOutcome,
  RetrainOutcomeSchema,
  type RetrainPolicy,
  RetrainPolicySchema,
} from '../../shared/jobs/schema.ts';
import { readRouting, updateRouting } from '../../shared/routing/operations.ts';
import type { ObjectStore } from '../../shared/store/types.ts';
import type { DeviceChoice } from '../device.ts';
import { createScreen, FeedbackRefused } from './screen.ts';
import type { RetrainFunction } from './types.ts';

export interface WorkerOptions {
  store: ObjectStore;
  retrain: RetrainFunction;
  device: DeviceChoice;
  /** Seconds a claim lasts without a heartbeat (default 300); heartbeats every third of it. */
  leaseSeconds?: number;
  /** Shown in the job's claim and log (default host:pid). */
  worker?: string;
  maxAttempts?: number;
  /** Progress lines (the CLI prints them to stderr). */
  log?: (message: string) => void;
  now?: () => Date;
  /**
   * Before claiming, review running canaries of models whose policy has `autoPromote`
   * (shared/jobs/canary-review.ts): promote or roll back on live feedback accuracy.
   */
  reviewCanaries?: boolean;
}

/** `stopped`: the poisoned-feedback check refused the job's new feedback (quarantined). */
export type WorkerRunStatus = 'idle' | 'done' | 'stopped' | 'failed' | 'lost';

export interface WorkerRunResult {
  status: WorkerRunStatus;
  job: Job | null;
  decision: GateDecision | null;
  /** For `failed` and `lost`: what happened. */
  error?: string;
  /** The canary review of this pass (with `reviewCanaries`). */
  canaries?: CanaryReview[];
}

const DEFAULT_LEASE_SECONDS = 300;

export function defaultWorkerId(): string {
  return `${hostname()}:${process.pid}`;
}

/** The oldest pending job we can claim, else a running job whose lease has expired. */
export async function claimNext(
  store: ObjectStore,
  options: { worker: string; leaseSeconds: number; maxAttempts?: number; now?: () => Date },
): Promise<Lease | null> {
  for (const job of await listJobs(store, 'pending')) {
    const lease = await claimJob(store, job.id, options);
    if (lease) return lease;
  }
  for (const job of await listJobs(store, 'running')) {
    const lease = await reclaimJob(store, job.id, options);
    if (lease) return lease;
  }
  return null;
}

/**
 * One pass of the worker: claim a job (or return `idle`), retrain while heartbeating, gate the
 * candidate, route it only when it wins, and store the outcome with the job.
 */
export async function runWorkerOnce(options: WorkerOptions): Promise<WorkerRunResult> {
  if (!options.reviewCanaries) return runJobOnce(options);
  let canaries: CanaryReview[] = [];
  try {
    canaries = await reviewCanaries(options.store, { log: options.log });
  } catch (e) {
    // A failed review must not keep the worker from its jobs.
    options.log?.(`canary review failed: ${errorMessage(e)}`);
  }
  return { ...(await runJobOnce(options)), canaries };
}

async function runJobOnce(options: WorkerOptions): Promise<WorkerRunResult> {
  const { store } = options;
  const leaseSeconds = options.leaseSeconds ?? DEFAULT_LEASE_SECONDS;
  const worker = options.worker ?? defaultWorkerId();
  const now = options.now ?? (() => new Date());
  const print = options.log ?? (() => {});
  const claimOptions = {
    worker,
    leaseSeconds,
    maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    now,
  };

  const claimed = await claimNext(store, claimOptions);
  if (!claimed) {
    print('no job to run');
    return { status: 'idle', job: null, decision: null };
  }
  const session = new JobSession(store, claimed, { leaseSeconds, now, print });
  const job = claimed.job;
  session.log(
    `worker ${worker} running job ${job.id} for ${job.model} (attempt ${job.attempts}); ${options.device.reason}`,
  );

  let policy: RetrainPolicy;
  let outcome: RetrainOutcome;
  let screening: AgreementVerdict | null = null;
  try {
    policy = (await readPolicy(store, job.model))?.policy ?? RetrainPolicySchema.parse({});
    session.start();
    const log = (m: string) => session.log(m);
    const raw = await options.retrain(job, {
      store,
      policy,
      device: options.device,
      since: job.trigger?.since ? new Date(job.trigger.since) : null,
      log,
      screenFeedback: createScreen({
        store,
        model: job.model,
        jobId: job.id,
        policy,
        log,
        onVerdict: (v) => {
          screening = v;
        },
      }),
      signal: session.signal,
    });
    const parsed = RetrainOutcomeSchema.safeParse(raw);
    if (!parsed.success) {
      throw new EdgetuneError(
        'internal',
        `the retrain step returned an invalid outcome: ${parsed.error.issues[0]?.message}`,
      );
    }
    outcome = parsed.data;
    session.log(
      `candidate ${outcome.candidateVersion}: ${JSON.stringify(outcome.candidateMetrics)}; stable: ${JSON.stringify(outcome.stableMetrics)}`,
    );
  } catch (e) {
    if (e instanceof FeedbackRefused) return session.finishStopped(e.message, e.verdict);
    return session.finishFailed(errorMessage(e), screening);
  }

  // Fence: make sure the job is still ours before touching routing.
  const fenced = await session.stopAndFence();
  if (!fenced) return session.lost();

  const decision = await applyGate(store, job.model, outcome, policy, (m) => session.log(m));
  const done = await session.finish({ state: 'done', outcome, decision, screening });
  if (!done) return session.lost();
  return { status: 'done', job: done, decision };
}

/**
 * Decide against the routing as it is now, then (only if the candidate wins) make it the model's
 * one live canary in a single routing change: the canaries it beat leave routing (their versions
 * stay published) and it gets the policy's canary weight. The change re-checks on every
 * compare-and-swap attempt that stable and canaries are still the ones compared with.
 */
async function applyGate(
  store: ObjectStore,
  model: string,
  outcome: RetrainOutcome,
  policy: RetrainPolicy,
  log: (m: string) => void,
): Promise<GateDecision> {
  const routing = await readRouting(store, model);
  const stableNow = routing?.doc.stable ?? null;
  const canariesNow = (routing?.doc.candidates ?? [])
    .map((c) => c.version)
    .filter((v) => v !== outcome.candidateVersion);
  let decision = decideCanary(outcome, policy, canariesNow);
  if (decision.routed && outcome.stableVersion && stableNow !== outcome.stableVersion) {
    decision = {
      ...decision,
      routed: false,
      replaced: [],
      reason: `rejected: stable changed from ${outcome.stableVersion} to ${stableNow ?? '(none)'} during the job; the metrics are not comparable`,
    };
  }
  if (decision.routed && stableNow === outcome.candidateVersion) {
    decision = {
      ...decision,
      routed: false,
      replaced: [],
      reason: `${outcome.candidateVersion} is already stable`,
    };
  }
  if (decision.routed) {
    const compared = new Set(decision.replaced);
    try {
      await updateRouting(
        store,
        model,
        'canary',
        (cur) => {
          const live = (cur?.candidates ?? []).filter((c) => c.version !== outcome.candidateVersion);
          if (!cur || cur.stable !== stableNow || live.some((c) => !compared.has(c.version))) {
            throw new EdgetuneError(
              'conflict',
              'routing changed while the gate decided (a new stable or canary was not compared with)',
            );
          }
          return { ...cur, candidates: [{ version: outcome.candidateVersion, weight: policy.canaryWeight }] };
        },
        { reason: `retrain gate: ${decision.reason}` },
      );
    } catch (e) {
      decision = {
        ...decision,
        routed: false,
        replaced: [],
        reason: `${decision.reason}; but routing failed: ${errorMessage(e)}`,
      };
    }
  }
  for (const c of decision.comparisons) log(`gate: ${c.passed ? 'beats' : 'does not beat'} ${c.reason}`);
  log(decision.reason);
  return decision;
}

/** The lease of one job: heartbeats on a timer, buffered log lines, finish. */
class JobSession {
  readonly #store: ObjectStore;
  #lease: Lease;
  readonly #leaseSeconds: number;
  readonly #now: () => Date;
  readonly #print: (m: string) => void;
  readonly #abort = new AbortController();
  #pending: JobLogLine[] = [];
  #timer: ReturnType<typeof setInterval> | null = null;
  /** Heartbeats run one after another: a slow store must not make two race each other. */
  #beat: Promise<void> = Promise.resolve();
  #lost: string | null = null;

  constructor(
    store: ObjectStore,
    lease: Lease,
    o: { leaseSeconds: number; now: () => Date; print: (m: string) => void },
  ) {
    this.#store = store;
    this.#lease = lease;
    this.#leaseSeconds = o.leaseSeconds;
    this.#now = o.now;
    this.#print = o.print;
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  log(message: string): void {
    this.#pending.push(...appendLog([], this.#now(), message));
    this.#print(message);
  }

  start(): void {
    const every = Math.max(200, (this.#leaseSeconds * 1000) / 3);
    this.#timer = setInterval(() => {
      this.#beat = this.#beat.then(() => this.#heartbeat());
    }, every);
    this.#timer.unref?.();
  }

  async #heartbeat(): Promise<void> {
    if (this.#lost) return;
    const log = this.#pending;
    this.#pending = [];
    try {
      this.#lease = await heartbeat(this.#store, this.#lease, {
        leaseSeconds: this.#leaseSeconds,
        log,
        now: this.#now,
      });
    } catch (e) {
      this.#pending = [...log, ...this.#pending];
      if (e instanceof EdgetuneError && e.code === 'conflict') {
        this.#lost = e.message;
        this.#print(e.message);
        this.#abort.abort(new EdgetuneError('conflict', e.message));
      } else {
        // A transient store error: keep going; the next beat retries before the lease runs out.
        this.#print(`heartbeat failed (will retry): ${errorMessage(e)}`);
      }
    }
  }

  /** Stops the timer and writes one last heartbeat; false when the job is no longer ours. */
  async stopAndFence(): Promise<boolean> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#beat;
    if (this.#lost) return false;
    await this.#heartbeat();
    return this.#lost === null;
  }

  async finish(result: {
    state: 'done' | 'failed';
    outcome: RetrainOutcome | null;
    decision: GateDecision | null;
    screening?: AgreementVerdict | null;
    error?: string;
  }): Promise<Job | null> {
    try {
      const job = await finishJob(
        this.#store,
        this.#lease,
        { ...result, log: this.#pending },
        { now: this.#now },
      );
      this.#pending = [];
      return job;
    } catch (e) {
      if (e instanceof EdgetuneError && e.code === 'conflict') {
        this.#lost = e.message;
        return null;
      }
      throw e;
    }
  }

  async finishFailed(error: string, screening: AgreementVerdict | null = null): Promise<WorkerRunResult> {
    this.log(`retrain failed: ${error}`);
    if (!(await this.stopAndFence())) return this.lost();
    const job = await this.finish({ state: 'failed', outcome: null, decision: null, screening, error });
    if (!job) return this.lost();
    return { status: 'failed', job, decision: null, error };
  }

  /** The feedback check refused the batch: a finished job (state failed) with the reason. */
  async finishStopped(error: string, screening: AgreementVerdict): Promise<WorkerRunResult> {
    this.log(error);
    if (!(await this.stopAndFence())) return this.lost();
    const job = await this.finish({ state: 'failed', outcome: null, decision: null, screening, error });
    if (!job) return this.lost();
    return { status: 'stopped', job, decision: null, error };
  }

  lost(): WorkerRunResult {
    if (this.#timer) clearInterval(this.#timer);
    return { status: 'lost', job: this.#lease.job, decision: null, error: this.#lost ?? 'lost the lease' };
  }
}

/**
 * Runs jobs until `signal` is aborted: after a job, look for the next one at once; when idle,
 * wait `intervalSeconds`.
 */
export async function runWorkerLoop(
  options: WorkerOptions & {
    intervalSeconds: number;
    signal?: AbortSignal;
    onResult?: (r: WorkerRunResult) => void;
  },
): Promise<void> {
  while (!options.signal?.aborted) {
    let result: WorkerRunResult;
    try {
      result = await runWorkerOnce(options);
    } catch (e) {
      options.log?.(`worker pass failed: ${errorMessage(e)}`);
      result = { status: 'idle', job: null, decision: null, error: errorMessage(e) };
    }
    options.onResult?.(result);
    if (result.status === 'idle') await sleep(options.intervalSeconds * 1000, options.signal);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}
