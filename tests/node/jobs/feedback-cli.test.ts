/**
 * `edgetune feedback import|review|accept|reject` and `jobs show` of a stopped job, spawned as a
 * user runs them, against a file store where the tiny task's worker really stopped a poisoned batch.
 */
import fs from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listQuarantine } from '../../../shared/feedback/quarantine.ts';
import { listFeedback } from '../../../shared/feedback/store.ts';
import { createJob } from '../../../shared/jobs/ledger.ts';
import { updatePolicy } from '../../../shared/jobs/policy.ts';
import { readRouting } from '../../../shared/routing/operations.ts';
import { resolveDevice } from '../../../training/device.ts';
import { runWorkerOnce } from '../../../training/jobs/runner.ts';
import { runCli } from '../cli-helper.ts';
import { addFeedback, flipped, makeSamples, publishWeakStable, tempStore, tinyRetrain } from './tiny-task.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('edgetune feedback', () => {
  it('imports trusted labels, reviews, accepts and rejects quarantined feedback; jobs show prints the stop', async () => {
    const t = await tempStore('edgetune-feedback-cli-');
    dirs.push(t.dir);
    const s = t.store;
    const store = `file://${t.dir}/store`;
    await publishWeakStable(s, 'tiny', new Date(Date.now() - 3_600_000));
    await updatePolicy(s, 'tiny', { minNewSamples: 5, canaryWeight: 20, minImprovement: 0.05 });
    const holdout = makeSamples(6006, 40);
    const run = () =>
      runWorkerOnce({ store: s, retrain: tinyRetrain(holdout), device: resolveDevice('cpu'), worker: 'w' });

    // A trusted import from a folder of label subfolders (PNG files written by fast-png).
    const folder = path.join(t.dir, 'reviewed');
    for (const [i, x] of makeSamples(4004, 6).entries()) {
      fs.mkdirSync(path.join(folder, x.label), { recursive: true });
      fs.writeFileSync(path.join(folder, x.label, `${i}.png`), x.png);
    }
    const imported = await runCli([
      'feedback',
      'import',
      'tiny',
      `folder:${folder}`,
      '--trusted',
      '--store',
      store,
      '--json',
    ]);
    expect(imported.code).toBe(0);
    expect(JSON.parse(imported.stdout)).toMatchObject({ samples: 6, added: 6, trusted: true });
    expect((await listFeedback(s, 'tiny')).every((r) => r.trusted)).toBe(true);
    const bad = await runCli([
      'feedback',
      'import',
      'tiny',
      `folder:${path.join(t.dir, 'nope')}`,
      '--store',
      store,
    ]);
    expect(bad.code).not.toBe(0);

    // A good round makes v2 the canary; then flipped labels are stopped against it.
    await addFeedback(s, 'tiny', makeSamples(5005, 24));
    await createJob(s, { model: 'tiny', reason: 'good' });
    expect((await run()).decision?.routed).toBe(true);
    const since = new Date();
    await addFeedback(s, 'tiny', flipped(makeSamples(5006, 24)), new Date(since.getTime() + 1));
    const job = (
      await createJob(s, {
        model: 'tiny',
        reason: 'poisoned',
        trigger: {
          newSamples: 24,
          newestVersion: 'v2',
          newestVersionAt: since.toISOString(),
          since: since.toISOString(),
        },
      })
    ).job;
    expect((await run()).status).toBe('stopped');
    const routing = await readRouting(s, 'tiny');

    const show = await runCli(['jobs', 'show', job.id, '--store', store]);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/feedback check: FAILED — feedback looks poisoned or noisy: 24 new samples/);
    expect(show.stdout).toMatch(
      /error: +stopped: .*24 samples moved to datasets\/tiny\/feedback\/quarantine\//,
    );

    const review = await runCli(['feedback', 'review', 'tiny', '--store', store, '--json']);
    expect(review.code).toBe(0);
    const held = JSON.parse(review.stdout).quarantined as { record: { id: string }; job: string }[];
    expect(held).toHaveLength(24);
    expect(held.every((q) => q.job === job.id)).toBe(true);
    const text = await runCli(['feedback', 'review', 'tiny', '--store', store]);
    expect(text.stdout).toMatch(/^tiny: 24 quarantined samples\n {2}why: feedback looks poisoned/);

    const accept = await runCli([
      'feedback',
      'accept',
      'tiny',
      held[0]!.record.id,
      '--store',
      store,
      '--json',
    ]);
    expect(accept.code).toBe(0);
    expect(JSON.parse(accept.stdout).accepted).toEqual([held[0]!.record.id]);
    expect((await listFeedback(s, 'tiny')).some((r) => r.id === held[0]!.record.id)).toBe(true);
    const neither = await runCli(['feedback', 'reject', 'tiny', '--store', store]);
    expect(neither.code).not.toBe(0);
    expect(neither.stderr).toMatch(/give record ids .* or --all/);
    const reject = await runCli(['feedback', 'reject', 'tiny', '--all', '--store', store, '--json']);
    expect(JSON.parse(reject.stdout)).toMatchObject({ rejected: 23 });
    expect(await listQuarantine(s, 'tiny')).toEqual([]);
    const unknown = await runCli(['feedback', 'accept', 'tiny', held[1]!.record.id, '--store', store]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/no quarantined feedback/);
    // Reviewing never touched routing.
    expect(await readRouting(s, 'tiny')).toEqual(routing);
  }, 120_000);
});
