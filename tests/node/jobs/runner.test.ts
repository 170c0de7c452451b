import { rm } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { claimJob, createJob, listJobs, locateJob } from '../../../shared/jobs/ledger.ts';
import { updatePolicy } from '../../../shared/jobs/policy.ts';
import { readRouting } from '../../../shared/routing/operations.ts';
import { listVersionIds } from '../../../shared/registry/versions.ts';
import { resolveDevice } from '../../../training/device.ts';
import { runWorkerOnce } from '../../../training/jobs/runner.ts';
import { FileStore } from '../../../shared/store/node/file.ts';
import { addFeedback, flipped, makeSamples, publishWeakStable, tempStore, tinyRetrain } from './tiny-task.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
const device = resolveDevice('cpu');
const holdout = makeSamples(1001, 40);

/** A store with a weak stable v1, a policy, 24 feedback samples and one pending job. */
async function setup(options: { flip?: boolean; minImprovement?: number } = {}) {
  const t = await tempStore('edgetune-worker-');
  dirs.push(t.dir);
  const s = t.store;
  await publishWeakStable(s, 'tiny', new Date(Date.now() - 3_600_000));
  await updatePolicy(s, 'tiny', {
    minNewSamples: 10,
    canaryWeight: 25,
    minImprovement: options.minImprovement ?? 0.05,
  });
  const train = makeSamples(2002, 24);
  await addFeedback(s, 'tiny', options.flip ? flipped(train) : train);
  const { job } = await createJob(s, { model: 'tiny', reason: 'test' });
  return { ...t, job };
}

describe('edgetune worker: evaluation gate', () => {
  it('a better candidate is published and gets exactly the policy canary weight', async () => {
    const { store: s, job } = await setup();
    const calls = { count: 0 };
    const r = await runWorkerOnce({
      store: s,
      retrain: tinyRetrain(holdout, calls),
      device,
      worker: 'w1',
      leaseSeconds: 30,
    });
    expect(r.error).toBeUndefined();
    expect(r.status).toBe('done');
    expect(calls.count).toBe(1);
    const out = r.job!.outcome!;
    // Measured on the 40-image holdout: centroids from clean labels separate the halves; v1
    // always answers "left" (half of the holdout).
    expect(out.candidateMetrics.accuracy).toBeGreaterThanOrEqual(0.95);
    expect(out.stableMetrics.accuracy).toBe(0.5);
    expect(r.decision).toMatchObject({ routed: true, metric: 'accuracy', canaryWeight: 25 });
    expect(r.decision!.improvement).toBeCloseTo(
      out.candidateMetrics.accuracy! - out.stableMetrics.accuracy!,
      9,
    );
    const routing = (await readRouting(s, 'tiny'))!.doc;
    expect(routing).toMatchObject({ stable: 'v1', candidates: [{ version: 'v2', weight: 25 }] });
    // Log, metrics and report are stored with the job.
    const done = await locateJob(s, job.id);
    expect(done?.state).toBe('done');
    expect(done?.job.outcome?.report).toEqual({ trainSamples: 24, holdout: 40 });
    const messages = done!.job.log.map((l) => l.message).join('\n');
    expect(messages).toMatch(/fitting on 24 feedback samples/);
    expect(messages).toMatch(/accepted: accuracy/);
    expect(await listJobs(s, 'running')).toHaveLength(0);
  });

  it('a worse candidate (trained on flipped labels) is published but never routed; the reason is stored', async () => {
    const { store: s, job } = await setup({ flip: true });
    const before = (await readRouting(s, 'tiny'))!;
    const r = await runWorkerOnce({
      store: s,
      retrain: tinyRetrain(holdout),
      device,
      worker: 'w1',
      leaseSeconds: 30,
    });
    expect(r.status).toBe('done');
    const out = r.job!.outcome!;
    expect(out.candidateMetrics.accuracy).toBeLessThanOrEqual(0.05);
    expect(r.decision!.routed).toBe(false);
    expect(r.decision!.reason).toMatch(/^rejected: accuracy/);
    expect(await listVersionIds(s, 'tiny')).toEqual(['v1', 'v2']);
    const after = (await readRouting(s, 'tiny'))!;
    expect(after.etag).toBe(before.etag);
    expect(after.doc.candidates).toEqual([]);
    expect((await locateJob(s, job.id))?.job.decision?.routed).toBe(false);
  });

  it('a better candidate that misses the policy margin is not routed', async () => {
    const { store: s } = await setup({ minImprovement: 0.9 });
    const r = await runWorkerOnce({
      store: s,
      retrain: tinyRetrain(holdout),
      device,
      worker: 'w1',
      leaseSeconds: 30,
    });
    const out = r.job!.outcome!;
    expect(out.candidateMetrics.accuracy! - out.stableMetrics.accuracy!).toBeGreaterThanOrEqual(0.45);
    expect(out.candidateMetrics.accuracy! - out.stableMetrics.accuracy!).toBeLessThan(0.9);
    expect(r.decision!.routed).toBe(false);
    expect((await readRouting(s, 'tiny'))!.doc.candidates).toEqual([]);
  });

  it('a retrain step that throws fails the job with its error and leaves routing alone', async () => {
    const { store: s, job } = await setup();
    const r = await runWorkerOnce({
      store: s,
      retrain: async () => {
        throw new Error('out of GPU memory');
      },
      device,
      leaseSeconds: 30,
    });
    expect(r).toMatchObject({ status: 'failed', error: 'out of GPU memory' });
    expect((await locateJob(s, job.id))?.state).toBe('failed');
    expect((await readRouting(s, 'tiny'))!.doc.candidates).toEqual([]);
  });
});

describe('edgetune worker: concurrency', () => {
  it('two workers racing for one job: exactly one runs it', async () => {
    const { dir, job } = await setup();
    const calls = { count: 0 };
    const retrain = tinyRetrain(holdout, calls);
    const results = await Promise.all(
      ['a', 'b'].map((w) =>
        runWorkerOnce({ store: new FileStore(`${dir}/store`), retrain, device, worker: w, leaseSeconds: 30 }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual(['done', 'idle']);
    expect(calls.count).toBe(1);
    const s = new FileStore(`${dir}/store`);
    expect((await listJobs(s, 'done')).map((j) => j.id)).toEqual([job.id]);
    expect(await listVersionIds(s, 'tiny')).toEqual(['v1', 'v2']);
  });

  it('a worker that crashed mid-job (claimed, never heartbeated) is re-claimed after its lease and the job completes once', async () => {
    const { store: s, job } = await setup();
    // A controlled clock: the lease expires because the clock says so, not because the test slept.
    let clock = Date.now();
    const now = () => new Date(clock);
    // The crashed worker: it claimed the job with a 1 s lease and then disappeared.
    expect(await claimJob(s, job.id, { worker: 'crashed', leaseSeconds: 1, now })).not.toBeNull();
    const calls = { count: 0 };
    const run = () =>
      runWorkerOnce({
        store: s,
        retrain: tinyRetrain(holdout, calls),
        device,
        worker: 'w2',
        leaseSeconds: 30,
        now,
      });
    const early = await run();
    expect(early.status).toBe('idle');
    clock += 1100;
    const r = await run();
    expect(r.status).toBe('done');
    expect(r.job).toMatchObject({ attempts: 2, claim: { worker: 'w2' } });
    expect(calls.count).toBe(1);
    expect((await run()).status).toBe('idle');
    expect(await listJobs(s, 'done')).toHaveLength(1);
  });

  it('a worker whose lease was taken over stops: it neither routes nor completes the job', async () => {
    const { store: s, job } = await setup();
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let claimed!: () => void;
    const started = new Promise<void>((r) => {
      claimed = r;
    });
    let aborted!: () => void;
    const abortSeen = new Promise<void>((r) => {
      aborted = r;
    });
    const slow = runWorkerOnce({
      store: s,
      device,
      worker: 'slow',
      leaseSeconds: 1,
      retrain: async (j, ctx) => {
        ctx.signal.addEventListener('abort', () => aborted());
        claimed();
        await gate; // hangs past its lease, as a stuck process would (heartbeats keep running)
        return tinyRetrain(holdout)(j, ctx);
      },
    });
    // Steal the lease the hard way: rewrite the running copy as a newer claim would.
    await started; // the job is claimed and retraining: its running copy exists
    const running = (await locateJob(s, job.id))!;
    const { putJson } = await import('../../../shared/store/json.ts');
    const { keys } = await import('../../../shared/store/keys.ts');
    await putJson(
      s,
      keys.job('running', job.id),
      { ...running.job, claim: { ...running.job.claim!, worker: 'thief', token: 'thief-token-1234' } },
      { ifMatch: running.etag },
    );
    // The next heartbeat finds the foreign claim and aborts the retrain (the test's own timeout
    // bounds the wait).
    await abortSeen;
    release();
    const r = await slow;
    expect(r.status).toBe('lost');
    expect((await readRouting(s, 'tiny'))!.doc.candidates).toEqual([]);
    expect(await listJobs(s, 'done')).toHaveLength(0);
    expect((await locateJob(s, job.id))?.job.claim?.worker).toBe('thief');
  });
});
