import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createJob, listJobs, locateJob } from '../../../shared/jobs/ledger.ts';
import { readPolicy, updatePolicy } from '../../../shared/jobs/policy.ts';
import { readRouting } from '../../../shared/routing/operations.ts';
import { resolveDevice } from '../../../training/device.ts';
import { runWorkerOnce } from '../../../training/jobs/runner.ts';
import { CLI_BIN as bin, REPO_ROOT as root, runCli } from '../cli-helper.ts';
import { addFeedback, makeSamples, publishWeakStable, tempStore, tinyRetrain } from './tiny-task.ts';

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const cli = (args: string[]) => runCli(args);

/** Polls `cond` until it holds; fails after `ms`. */
async function waitFor(cond: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('edgetune worker (CLI process)', () => {
  it('a worker killed with SIGKILL mid-job: the job is re-claimed after the lease and completes once', async () => {
    const t = await tempStore('edgetune-kill-');
    dirs.push(t.dir);
    const s = t.store;
    await publishWeakStable(s, 'tiny', new Date(Date.now() - 3_600_000));
    await updatePolicy(s, 'tiny', { minNewSamples: 5, canaryWeight: 10, minImprovement: 0.05 });
    await addFeedback(s, 'tiny', makeSamples(3003, 16));
    const { job } = await createJob(s, { model: 'tiny', reason: 'kill test' });

    const marker = path.join(t.dir, 'started');
    const child = spawn(
      process.execPath,
      [
        bin,
        'worker',
        '--once',
        '--store',
        `file://${t.dir}/store`,
        '--device',
        'cpu',
        '--lease-seconds',
        '2',
        '--worker-id',
        'doomed',
        '--retrain',
        path.join(root, 'tests/node/jobs/hanging-retrain.ts'),
      ],
      { cwd: root, env: { ...process.env, EDGETUNE_TEST_MARKER: marker }, stdio: 'ignore' },
    );
    children.push(child);
    await waitFor(() => existsSync(marker), 60_000);
    // Kill it only once a heartbeat has stored its log line: the log survives up to the last beat.
    let held = await locateJob(s, job.id);
    await waitFor(async () => {
      held = await locateJob(s, job.id);
      return held?.job.log.some((l) => l.message.startsWith('hanging retrain started')) ?? false;
    }, 60_000);
    expect(held).toMatchObject({ state: 'running', job: { attempts: 1, claim: { worker: 'doomed' } } });
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;

    const calls = { count: 0 };
    const device = resolveDevice('cpu');
    // The rescuer's clock is set relative to the dead worker's lease (2 s from its last
    // heartbeat), so the test does not depend on how long anything took.
    const leaseUntil = Date.parse((await locateJob(s, job.id))!.job.claim!.leaseUntil);
    let clock = leaseUntil - 500;
    const options = {
      store: s,
      retrain: tinyRetrain(makeSamples(4004, 20), calls),
      device,
      worker: 'rescuer',
      leaseSeconds: 30,
      now: () => new Date(clock),
    };
    // Its lease has not run out yet: nobody may take the job.
    expect((await runWorkerOnce(options)).status).toBe('idle');
    clock = leaseUntil + 100;
    const r = await runWorkerOnce(options);
    expect(r.status).toBe('done');
    expect(r.job).toMatchObject({ attempts: 2, claim: { worker: 'rescuer' } });
    expect(calls.count).toBe(1);
    const messages = r.job!.log.map((l) => l.message).join('\n');
    expect(messages).toMatch(/hanging retrain started/); // the dead worker's log survived
    expect(messages).toMatch(/re-claimed after the lease of doomed expired/);
    expect((await runWorkerOnce(options)).status).toBe('idle');
    expect((await listJobs(s, 'done')).map((j) => j.id)).toEqual([job.id]);
    expect(await listJobs(s, 'running')).toHaveLength(0);
    expect(await listJobs(s, 'failed')).toHaveLength(0);
    expect((await readRouting(s, 'tiny'))!.doc.candidates).toEqual([{ version: 'v2', weight: 10 }]);
  });

  it('the default retrain step fails a job it cannot run (no stable version), and --device cuda fails clearly without the CUDA EP', async () => {
    const t = await tempStore('edgetune-cli-');
    dirs.push(t.dir);
    const { job } = await createJob(t.store, { model: 'tiny', reason: 'no pipeline' });
    const store = `file://${t.dir}/store`;
    const noStable = await cli(['worker', '--once', '--store', store, '--device', 'cpu', '--json']);
    expect(noStable.code).toBe(1);
    expect(JSON.parse(noStable.stdout)).toMatchObject({ status: 'failed' });
    expect(noStable.stderr).toMatch(/tiny has no stable version to retrain from/);
    expect((await locateJob(t.store, job.id))?.state).toBe('failed');
    const cuda = await cli(['worker', '--once', '--store', store, '--device', 'cuda']);
    expect(cuda.code).toBe(1);
    expect(cuda.stderr).toMatch(/--device cuda: onnxruntime-node's CUDA execution provider is not installed/);
  });

  it('edgetune policy set/show writes and reads the stored policy', async () => {
    const t = await tempStore('edgetune-policy-');
    dirs.push(t.dir);
    const store = `file://${t.dir}/store`;
    const set = await cli([
      'policy',
      'set',
      'tiny',
      '--min-samples',
      '25',
      '--max-age',
      '7d',
      '--canary-weight',
      '10',
      '--min-improvement',
      '0.01',
      '--allow-new-classes',
      '--store',
      store,
      '--json',
    ]);
    expect(set.code).toBe(0);
    expect(JSON.parse(set.stdout).policy).toMatchObject({
      minNewSamples: 25,
      maxAgeSeconds: 604_800,
      canaryWeight: 10,
      minImprovement: 0.01,
      allowNewClasses: true,
    });
    const stored = (await readPolicy(t.store, 'tiny'))!.policy;
    expect(stored).toMatchObject({
      minNewSamples: 25,
      maxAgeSeconds: 604_800,
      allowNewClasses: true,
      autoPromote: null,
    });
    const bad = await cli(['policy', 'set', 'tiny', '--canary-weight', '150', '--store', store]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--canary-weight must be a number from 0 to 100/);
    const show = await cli(['policy', 'show', 'tiny', '--store', store]);
    expect(show.stdout).toMatch(/max age:\s+7d/);
    expect(show.stdout).toMatch(/allow new classes: yes/);
  });
});
