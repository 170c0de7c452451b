import { rm } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import {
  claimJob,
  createJob,
  finishJob,
  heartbeat,
  listJobs,
  locateJob,
  reclaimJob,
} from '../../../shared/jobs/ledger.ts';
import { JobSchema } from '../../../shared/jobs/schema.ts';
import { putJson } from '../../../shared/store/json.ts';
import { keys } from '../../../shared/store/keys.ts';
import { FileStore } from '../../../shared/store/node/file.ts';
import { tempStore } from './tiny-task.ts';

const dirs: string[] = [];
async function store() {
  const t = await tempStore('edgetune-ledger-');
  dirs.push(t.dir);
  return t;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const claimOpts = (worker: string, leaseSeconds = 60) => ({ worker, leaseSeconds });

describe('job creation', () => {
  it('is idempotent under concurrency: ten schedulers racing create exactly one open job', async () => {
    const { dir } = await store();
    // Separate store instances on one directory, as separate processes would have.
    const stores = Array.from({ length: 10 }, () => new FileStore(`${dir}/store`));
    const results = await Promise.all(
      stores.map((s, i) => createJob(s, { model: 'cats', reason: `tick ${i}` })),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.job.id)).size).toBe(1);
    expect(await listJobs(stores[0]!, 'pending')).toHaveLength(1);
    // Another model is independent.
    expect((await createJob(stores[0]!, { model: 'dogs', reason: 'x' })).created).toBe(true);
    expect(await listJobs(stores[0]!, 'pending')).toHaveLength(2);
  });

  it('keeps the open job while it runs and creates a new one only after it finished', async () => {
    const { store: s } = await store();
    const first = await createJob(s, { model: 'cats', reason: 'a' });
    const lease = (await claimJob(s, first.job.id, claimOpts('w1')))!;
    expect(lease).not.toBeNull();
    const again = await createJob(s, { model: 'cats', reason: 'b' });
    expect(again).toMatchObject({ created: false, job: { id: first.job.id, state: 'running' } });
    await finishJob(s, lease, { state: 'done', outcome: null, decision: null });
    const next = await createJob(s, { model: 'cats', reason: 'c' });
    expect(next.created).toBe(true);
    expect(next.job.id).not.toBe(first.job.id);
    expect((await locateJob(s, first.job.id))?.state).toBe('done');
  });

  it('repairs a creator that died between the model pointer and the pending copy', async () => {
    const { store: s } = await store();
    const orphan = JobSchema.parse({
      schema: 1,
      id: '20260101-000000-orphan00',
      model: 'cats',
      state: 'pending',
      createdAt: '2026-01-01T00:00:00.000Z',
      reason: 'crashed creator',
    });
    await putJson(s, keys.jobPointer('cats'), orphan, { ifNoneMatch: '*' });
    expect(await locateJob(s, orphan.id)).toBeNull();
    const r = await createJob(s, { model: 'cats', reason: 'next tick' });
    expect(r).toMatchObject({ created: false, job: { id: orphan.id } });
    expect((await listJobs(s, 'pending')).map((j) => j.id)).toEqual([orphan.id]);
  });
});

describe('claims and leases', () => {
  it('eight workers racing to claim one job: exactly one gets it', async () => {
    const { dir, store: s } = await store();
    const { job } = await createJob(s, { model: 'cats', reason: 'race' });
    const leases = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        claimJob(new FileStore(`${dir}/store`), job.id, claimOpts(`w${i}`)),
      ),
    );
    const winners = leases.filter((l) => l !== null);
    expect(winners).toHaveLength(1);
    expect(winners[0]!.job).toMatchObject({ state: 'running', attempts: 1 });
    expect(await listJobs(s, 'pending')).toHaveLength(0);
    expect((await listJobs(s, 'running')).map((j) => j.claim?.worker)).toEqual([
      winners[0]!.job.claim!.worker,
    ]);
  });

  it('re-claims only after the lease expired, and the old holder can no longer heartbeat or finish', async () => {
    const { store: s } = await store();
    let now = new Date('2026-06-01T00:00:00Z');
    const clock = { now: () => now };
    const { job } = await createJob(s, { model: 'cats', reason: 'lease' }, clock);
    const first = (await claimJob(s, job.id, { ...claimOpts('w1', 30), ...clock }))!;
    const beat = await heartbeat(s, first, {
      leaseSeconds: 30,
      ...clock,
      log: [{ at: now.toISOString(), message: 'working' }],
    });
    now = new Date(now.getTime() + 29_000);
    expect(await reclaimJob(s, job.id, { ...claimOpts('w2', 30), ...clock })).toBeNull();
    now = new Date(now.getTime() + 2_000);
    const second = (await reclaimJob(s, job.id, { ...claimOpts('w2', 30), ...clock }))!;
    expect(second.job).toMatchObject({ attempts: 2, claim: { worker: 'w2' } });
    expect(second.job.log.map((l) => l.message)).toContain('working');
    await expect(heartbeat(s, beat, { leaseSeconds: 30, ...clock })).rejects.toMatchObject({
      code: 'conflict',
    });
    const done = await finishJob(s, second, { state: 'done', outcome: null, decision: null }, clock);
    expect(done.state).toBe('done');
    await expect(finishJob(s, beat, { state: 'done', outcome: null, decision: null })).rejects.toMatchObject({
      code: 'conflict',
    });
    expect(await listJobs(s, 'running')).toHaveLength(0);
    expect(await listJobs(s, 'done')).toHaveLength(1);
  });

  it('fails a job whose workers keep dying instead of re-claiming it forever', async () => {
    const { store: s } = await store();
    let now = new Date('2026-06-01T00:00:00Z');
    const clock = { now: () => now };
    const { job } = await createJob(s, { model: 'cats', reason: 'crashy' }, clock);
    await claimJob(s, job.id, { ...claimOpts('w1', 10), ...clock });
    for (let i = 2; i <= 3; i++) {
      now = new Date(now.getTime() + 11_000);
      expect(
        await reclaimJob(s, job.id, { ...claimOpts(`w${i}`, 10), ...clock, maxAttempts: 3 }),
      ).not.toBeNull();
    }
    now = new Date(now.getTime() + 11_000);
    expect(await reclaimJob(s, job.id, { ...claimOpts('w4', 10), ...clock, maxAttempts: 3 })).toBeNull();
    const located = await locateJob(s, job.id);
    expect(located?.state).toBe('failed');
    expect(located?.job.error).toMatch(/lease expired after 3 attempt/);
    expect(await listJobs(s, 'running')).toHaveLength(0);
  });

  it('a stale pending copy of a finished job is never run again', async () => {
    const { store: s } = await store();
    const { job } = await createJob(s, { model: 'cats', reason: 'stale' });
    const lease = (await claimJob(s, job.id, claimOpts('w1')))!;
    await finishJob(s, lease, { state: 'done', outcome: null, decision: null });
    // A slow creator's late write resurrects the pending copy.
    await putJson(s, keys.job('pending', job.id), job);
    expect(await claimJob(s, job.id, claimOpts('w2'))).toBeNull();
    expect(await listJobs(s, 'pending')).toHaveLength(0);
    expect(await listJobs(s, 'running')).toHaveLength(0);
    expect((await locateJob(s, job.id))?.state).toBe('done');
  });
});
