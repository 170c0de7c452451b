/** `edgetune jobs list|show|schedule` against a real ledger in a file store. */
import { rm } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { createJob } from '../../../shared/jobs/ledger.ts';
import { updatePolicy } from '../../../shared/jobs/policy.ts';
import { resolveDevice } from '../../../training/device.ts';
import { runWorkerOnce } from '../../../training/jobs/runner.ts';
import { runCli } from '../cli-helper.ts';
import { addFeedback, makeSamples, publishWeakStable, tempStore, tinyRetrain } from './tiny-task.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const cli = (args: string[]) => runCli(args);

describe('edgetune jobs', () => {
  it('lists, shows and schedules jobs; bad arguments are clear errors', async () => {
    const t = await tempStore('edgetune-jobs-cli-');
    dirs.push(t.dir);
    const s = t.store;
    const store = `file://${t.dir}/store`;
    await publishWeakStable(s, 'tiny', new Date(Date.now() - 3_600_000));
    await updatePolicy(s, 'tiny', { minNewSamples: 5, canaryWeight: 10, minImprovement: 0.05 });
    await addFeedback(s, 'tiny', makeSamples(5005, 16));
    const done = (await createJob(s, { model: 'tiny', reason: 'cli test' })).job;
    const ran = await runWorkerOnce({
      store: s,
      retrain: tinyRetrain(makeSamples(6006, 40)),
      device: resolveDevice('cpu'),
    });
    expect(ran.status).toBe('done');
    await publishWeakStable(s, 'other', new Date());
    const pending = (await createJob(s, { model: 'other', reason: 'waiting' })).job;

    const list = await cli(['jobs', 'list', '--store', store, '--json']);
    expect(list.code).toBe(0);
    const jobs = JSON.parse(list.stdout).jobs as Record<string, unknown>[];
    expect(jobs.map((j) => [j.id, j.state])).toEqual(
      [
        [done.id, 'done'],
        [pending.id, 'pending'],
      ].sort((a, b) => (a[0]! < b[0]! ? 1 : -1)),
    );
    expect(jobs.find((j) => j.id === done.id)).toMatchObject({
      model: 'tiny',
      candidate: 'v2',
      routed: true,
      decision: expect.stringMatching(/^accepted: accuracy/),
    });

    const onlyPending = await cli([
      'jobs',
      'list',
      '--state',
      'pending',
      '--model',
      'other',
      '--store',
      store,
    ]);
    expect(onlyPending.stdout.trim().split('\n')).toHaveLength(1);
    expect(onlyPending.stdout).toMatch(new RegExp(`^${pending.id}\\s+other\\s+pending`));

    const show = await cli(['jobs', 'show', done.id, '--store', store, '--json']);
    expect(JSON.parse(show.stdout)).toMatchObject({
      state: 'done',
      job: { id: done.id, outcome: { candidateVersion: 'v2' }, decision: { routed: true } },
    });
    const text = await cli(['jobs', 'show', done.id, '--store', store]);
    expect(text.stdout).toMatch(/decision: accepted/);
    expect(text.stdout).toMatch(/holdout accuracy: candidate/); // the retrain step's own log line

    const missing = await cli(['jobs', 'show', '20990101-000000-zzzzzzzz', '--store', store]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no job 20990101-000000-zzzzzzzz/);
    const bad = await cli(['jobs', 'list', '--state', 'sleeping', '--store', store]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--state must be one of pending, running, done, failed/);

    // tiny's feedback is older than its new v2: nothing is due; "other" has no policy.
    const tick = await cli(['jobs', 'schedule', '--store', store, '--json']);
    expect(JSON.parse(tick.stdout).models).toMatchObject([
      { model: 'tiny', job: null, check: { due: false } },
    ]);
  });
});
