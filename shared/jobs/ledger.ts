/**
 * The job ledger: `jobs/{pending|running|done|failed}/{id}.json` in the object store, driven only
 * by conditional writes (no locks, no database), so it works the same on a directory, S3 and R2.
 *
 * Invariants and why they hold:
 * - A job moves forward only: pending → running → done | failed. Every move WRITES the next
 *   state's object first and DELETES the previous one after. A crash in between leaves a stale
 *   earlier copy, never a missing job; readers resolve duplicates by taking the furthest state.
 *   (Reading the states in forward order therefore always finds a job that exists.)
 * - At most one open job per model: `jobs/by-model/{model}.json` points at the model's latest job
 *   and is only ever created with If-None-Match: * or replaced with If-Match on the ETag of a
 *   pointer whose job is finished. Two schedulers racing both read the same pointer; exactly one
 *   conditional write lands, the loser re-reads and finds the winner's open job. The pointer is
 *   never deleted (a delete cannot be conditional, and deleting could remove a newer pointer), so
 *   "the model has an open job" = "the pointer's job is pending or running".
 * - Claim = create `running/{id}` with If-None-Match: * — exactly one worker wins. After winning,
 *   the claimer checks for a terminal copy: a `running/` object can only be absent after the job
 *   finished (terminal is written before running is deleted), so a stale `pending/` copy can never
 *   make a finished job run again.
 * - A running job carries `claim.leaseUntil`; its worker extends it (heartbeat) with If-Match on
 *   the ETag it last wrote. Once the lease has passed, another worker may take the job over with
 *   If-Match on the expired copy's ETag: one re-claimer wins, and the old worker's next heartbeat
 *   fails (its ETag is gone), so it stops. Each claim has a fresh random token, so two claims
 *   never write identical bytes (stores whose ETag is a content hash cannot confuse them).
 * - `done/` and `failed/` are created with If-None-Match: *, so a job finishes exactly once.
 */
import { EdgetuneError } from '../errors.ts';
import { assertName } from '../names.ts';
import { casUpdateJson, isPreconditionFailed } from '../store/cas.ts';
import { parseJsonObject, putJson, readJson } from '../store/json.ts';
import { type JobState, keys } from '../store/keys.ts';
import type { ObjectStore } from '../store/types.ts';
import { type Job, type JobLogLine, JobSchema } from './schema.ts';

export interface Clock {
  now?: () => Date;
}

/** A running job held by this worker: the document as last written and its ETag. */
export interface Lease {
  job: Job;
  etag: string;
}

export interface LocatedJob {
  state: JobState;
  job: Job;
  etag: string;
}

/** Log lines kept per job; older ones are dropped (the document must stay small). */
export const MAX_LOG_LINES = 2000;
/** Claims before a job that keeps killing its workers is failed instead of re-claimed. */
export const DEFAULT_MAX_ATTEMPTS = 3;

const nowOf = (clock: Clock) => (clock.now ?? (() => new Date()))();

/** `20261129-233411-k3j9x2ab`: sorts by creation time; 8 random base-36 characters keep ids apart. */
export function newJobId(at: Date): string {
  const iso = at.toISOString();
  const stamp = `${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}`;
  return `${stamp}-${randomToken(8)}`;
}

export function randomToken(length: number): string {
  const bytes = new Uint8Array(length);
  crypto.getRandomValues(bytes);
  let out = '';
  for (const b of bytes) out += (b % 36).toString(36);
  return out;
}

async function readState(store: ObjectStore, state: JobState, id: string): Promise<LocatedJob | null> {
  const read = await readJson(store, keys.job(state, id), JobSchema);
  return read ? { state, job: read.value, etag: read.etag } : null;
}

/**
 * Where a job is now. States are read in forward order (see the invariants above) and the
 * furthest one found wins; null only when the job was never written.
 */
export async function locateJob(store: ObjectStore, id: string): Promise<LocatedJob | null> {
  let found: LocatedJob | null = null;
  for (const state of ['pending', 'running', 'done', 'failed'] as const) {
    const at = await readState(store, state, id);
    if (at) found = at;
  }
  return found;
}

export function isOpen(state: JobState): boolean {
  return state === 'pending' || state === 'running';
}

export interface CreateJobInput {
  model: string;
  reason: string;
  trigger?: Job['trigger'];
}

export interface CreateJobResult {
  job: Job;
  /** False when the model already had an open job (which is returned instead). */
  created: boolean;
}

/** Creates a pending job for the model unless it already has an open one (idempotent). */
export async function createJob(
  store: ObjectStore,
  input: CreateJobInput,
  options: Clock & { maxAttempts?: number } = {},
): Promise<CreateJobResult> {
  const model = assertName('model', input.model);
  // What the change found instead of writing: the model's open job.
  const found: { open: Job | null } = { open: null };
  const result = await casUpdateJson(
    store,
    keys.jobPointer(model),
    JobSchema,
    async (current) => {
      found.open = null;
      if (current) {
        const located = await locateJob(store, current.value.id);
        if (!located) {
          // The creator died between the pointer and the pending copy: finish its work (creating
          // the pending copy is idempotent, so a retry repeating it is harmless). It is open now.
          await createIfAbsent(store, keys.job('pending', current.value.id), current.value);
          found.open = current.value;
          return null;
        }
        if (isOpen(located.state)) {
          found.open = located.job;
          return null;
        }
      }
      const at = nowOf(options);
      return JobSchema.parse({
        schema: 1,
        id: newJobId(at),
        model,
        state: 'pending',
        createdAt: at.toISOString(),
        reason: input.reason.slice(0, 500),
        trigger: input.trigger,
        log: [{ at: at.toISOString(), message: `created: ${input.reason}`.slice(0, 2000) }],
      });
    },
    { maxAttempts: options.maxAttempts ?? 20, label: `job pointer of ${model}` },
  );
  if (!result.changed || !result.value) {
    if (!found.open) throw new EdgetuneError('internal', `job pointer of ${model}: no job to return`);
    return { job: found.open, created: false };
  }
  await createIfAbsent(store, keys.job('pending', result.value.id), result.value);
  return { job: result.value, created: true };
}

async function createIfAbsent(store: ObjectStore, key: string, value: unknown): Promise<boolean> {
  try {
    await putJson(store, key, value, { ifNoneMatch: '*' });
    return true;
  } catch (e) {
    if (isPreconditionFailed(e)) return false;
    throw e;
  }
}

/** Jobs in one state, oldest first (ids sort by creation time). Unreadable ones are skipped. */
export async function listJobs(store: ObjectStore, state: JobState): Promise<Job[]> {
  const { objects } = await store.list(keys.jobsPrefix(state));
  const jobs: Job[] = [];
  for (const o of objects.sort((a, b) => (a.key < b.key ? -1 : 1))) {
    if (!o.key.endsWith('.json')) continue;
    const obj = await store.get(o.key);
    if (!obj) continue;
    try {
      jobs.push(parseJsonObject(obj, JobSchema, store.url));
    } catch {
      // A corrupt job document must not stop the ledger; `jobs show` reports it when asked.
    }
  }
  return jobs;
}

export interface ClaimOptions extends Clock {
  worker: string;
  leaseSeconds: number;
}

function claimed(job: Job, options: ClaimOptions, note: string): Job {
  const at = nowOf(options);
  const leaseUntil = new Date(at.getTime() + options.leaseSeconds * 1000);
  return JobSchema.parse({
    ...job,
    state: 'running',
    attempts: job.attempts + 1,
    claim: {
      worker: options.worker.slice(0, 200),
      token: randomToken(16),
      claimedAt: at.toISOString(),
      heartbeatAt: at.toISOString(),
      leaseUntil: leaseUntil.toISOString(),
    },
    log: appendLog(
      job.log,
      at,
      `${note} by ${options.worker} (attempt ${job.attempts + 1}, lease until ${leaseUntil.toISOString()})`,
    ),
  });
}

/** Tries to move a pending job to running for this worker; null when someone else has it. */
export async function claimJob(store: ObjectStore, id: string, options: ClaimOptions): Promise<Lease | null> {
  const pending = await readState(store, 'pending', id);
  if (!pending) return null;
  const job = claimed(pending.job, options, 'claimed');
  let etag: string;
  try {
    etag = (await putJson(store, keys.job('running', id), job, { ifNoneMatch: '*' })).etag;
  } catch (e) {
    if (!isPreconditionFailed(e)) throw e;
    // Running (or finished) already: the pending copy is a leftover of an interrupted move.
    await store.delete(keys.job('pending', id));
    return null;
  }
  if ((await readState(store, 'done', id)) || (await readState(store, 'failed', id))) {
    // A stale pending copy of a finished job: undo our running copy, drop the leftover.
    await store.delete(keys.job('running', id));
    await store.delete(keys.job('pending', id));
    return null;
  }
  await store.delete(keys.job('pending', id));
  return { job, etag };
}

export interface ReclaimOptions extends ClaimOptions {
  maxAttempts?: number;
}

/**
 * Takes over a running job whose lease has expired (its worker died or hung). After
 * `maxAttempts` claims the job is failed instead, so a job that crashes every worker stops.
 */
export async function reclaimJob(
  store: ObjectStore,
  id: string,
  options: ReclaimOptions,
): Promise<Lease | null> {
  const running = await readState(store, 'running', id);
  if (!running) return null;
  const at = nowOf(options);
  const leaseUntil = running.job.claim ? Date.parse(running.job.claim.leaseUntil) : 0;
  if (leaseUntil > at.getTime()) return null;
  if ((await readState(store, 'done', id)) || (await readState(store, 'failed', id))) {
    await store.delete(keys.job('running', id)); // leftover of an interrupted finish
    return null;
  }
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (running.job.attempts >= maxAttempts) {
    const failed = JobSchema.parse({
      ...running.job,
      state: 'failed',
      error: `lease expired after ${running.job.attempts} attempt(s); giving up`,
      finishedAt: at.toISOString(),
      log: appendLog(
        running.job.log,
        at,
        `failed by ${options.worker}: lease expired ${running.job.attempts} time(s)`,
      ),
    });
    // If-Match on the expired copy first, so a worker that is still heartbeating keeps its job.
    try {
      await putJson(store, keys.job('running', id), failed, { ifMatch: running.etag });
    } catch (e) {
      if (isPreconditionFailed(e)) return null;
      throw e;
    }
    if (await createIfAbsent(store, keys.job('failed', id), failed))
      await store.delete(keys.job('running', id));
    return null;
  }
  const job = claimed(
    running.job,
    options,
    `re-claimed after the lease of ${running.job.claim?.worker ?? '?'} expired,`,
  );
  try {
    const written = await putJson(store, keys.job('running', id), job, { ifMatch: running.etag });
    return { job, etag: written.etag };
  } catch (e) {
    if (isPreconditionFailed(e)) return null;
    throw e;
  }
}

/**
 * Extends the lease and stores the log so far. Throws `conflict` when the job is no longer ours
 * (re-claimed after our lease expired, or finished): the caller must stop working on it.
 */
export async function heartbeat(
  store: ObjectStore,
  lease: Lease,
  options: Clock & { leaseSeconds: number; log?: readonly JobLogLine[] },
): Promise<Lease> {
  const at = nowOf(options);
  const claim = lease.job.claim;
  if (!claim) throw new EdgetuneError('conflict', `job ${lease.job.id} has no claim`);
  const job = JobSchema.parse({
    ...lease.job,
    log: trimLog([...lease.job.log, ...(options.log ?? [])]),
    claim: {
      ...claim,
      beats: claim.beats + 1,
      heartbeatAt: at.toISOString(),
      leaseUntil: new Date(at.getTime() + options.leaseSeconds * 1000).toISOString(),
    },
  });
  try {
    const written = await putJson(store, keys.job('running', job.id), job, { ifMatch: lease.etag });
    return { job, etag: written.etag };
  } catch (e) {
    if (isPreconditionFailed(e)) {
      throw new EdgetuneError(
        'conflict',
        `lost the lease on job ${job.id}: another worker took it over or it finished`,
      );
    }
    throw e;
  }
}

/** Finishes a job we hold: `done` (with outcome and decision) or `failed` (with the error). */
export async function finishJob(
  store: ObjectStore,
  lease: Lease,
  result: Pick<Job, 'outcome' | 'decision'> & {
    state: 'done' | 'failed';
    screening?: Job['screening'];
    error?: string | null;
    log?: readonly JobLogLine[];
  },
  options: Clock = {},
): Promise<Job> {
  const at = nowOf(options);
  const job = JobSchema.parse({
    ...lease.job,
    state: result.state,
    outcome: result.outcome,
    decision: result.decision,
    screening: result.screening ?? null,
    error: result.error ?? null,
    finishedAt: at.toISOString(),
    log: appendLog(
      [...lease.job.log, ...(result.log ?? [])],
      at,
      result.state === 'done' ? 'done' : `failed: ${result.error ?? ''}`,
    ),
  });
  if (!(await createIfAbsent(store, keys.job(result.state, job.id), job))) {
    throw new EdgetuneError('conflict', `job ${job.id} was already finished by another worker`);
  }
  // Only our own running copy is removed: if we lost the lease meanwhile, leave theirs alone.
  const current = await store.head(keys.job('running', job.id));
  if (current && current.etag === lease.etag) await store.delete(keys.job('running', job.id));
  return job;
}

export function appendLog(log: readonly JobLogLine[], at: Date, message: string): JobLogLine[] {
  return trimLog([...log, { at: at.toISOString(), message: message.slice(0, 2000) }]);
}

function trimLog(log: JobLogLine[]): JobLogLine[] {
  return log.length > MAX_LOG_LINES ? log.slice(log.length - MAX_LOG_LINES) : log;
}
