/**
 * Auto-promotion (policy autoPromote): live per-version accuracy from feedback records that say
 * which version served them and what it predicted → promote the canary, roll it back, or wait.
 */
import { rm } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { saveFeedback } from '../../../shared/feedback/store.ts';
import { decideCanaryReview, observe, reviewCanaries } from '../../../shared/jobs/canary-review.ts';
import { updatePolicy } from '../../../shared/jobs/policy.ts';
import { readRoutingHistory } from '../../../shared/routing/history.ts';
import { publishVersion } from '../../../shared/registry/publish.ts';
import { readRouting, rollout } from '../../../shared/routing/operations.ts';
import type { ObjectStore } from '../../../shared/store/types.ts';
import { resolveDevice } from '../../../training/device.ts';
import { runWorkerOnce } from '../../../training/jobs/runner.ts';
import {
  buildLinearModel,
  exportOf,
  LABELS,
  makeSamples,
  publishWeakStable,
  tempStore,
  tinyRetrain,
} from './tiny-task.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const HOUR = 3_600_000;
const NOW = Date.now();

/** v1 stable (3 h old), v2 canary at 30% (1 h old), and an autoPromote policy. */
async function withCanary(store: ObjectStore, name: string): Promise<void> {
  await publishWeakStable(store, name, new Date(NOW - 3 * HOUR));
  const model = buildLinearModel(new Float32Array(2 * 16), Float32Array.from([0, 0.1]));
  await publishVersion(store, name, exportOf(model, name, new Date(NOW - HOUR)));
  await rollout(store, name, 'v2', 30);
  await updatePolicy(store, name, { autoPromote: { afterObservations: 20, tolerance: 0.05 } });
}

/** `n` labelled samples served by `version`, `correct` of them predicted right. */
async function observed(
  store: ObjectStore,
  name: string,
  version: string,
  n: number,
  correct: number,
  o: { seed: number; at: Date },
): Promise<void> {
  for (const [i, s] of makeSamples(o.seed, n).entries()) {
    const wrong = LABELS.find((l) => l !== s.label)!;
    await saveFeedback(store, name, {
      image: s.png,
      label: s.label,
      knownLabel: true,
      version,
      prediction: i < correct ? s.label : wrong,
      now: o.at,
    });
  }
}

describe('decideCanaryReview', () => {
  const rule = { afterObservations: 10, tolerance: 0.05 };
  const obs = (version: string, observations: number, accuracy: number | null) => ({
    version,
    observations,
    accuracy,
  });
  it('waits until both versions have enough observations', () => {
    expect(decideCanaryReview(obs('v2', 9, 1), obs('v1', 50, 0.5), rule).action).toBe('waiting');
    expect(decideCanaryReview(obs('v2', 50, 1), obs('v1', 9, 0.5), rule).action).toBe('waiting');
  });
  it('promotes at the tolerance boundary (despite float noise) and rolls back below it', () => {
    expect(decideCanaryReview(obs('v2', 10, 0.85), obs('v1', 10, 0.9), rule).action).toBe('promoted');
    expect(decideCanaryReview(obs('v2', 10, 0.84), obs('v1', 10, 0.9), rule)).toMatchObject({
      action: 'rolled-back',
      reason: expect.stringMatching(/^auto-rollback: live accuracy v2 0.84 .* vs v1 0.9/),
    });
  });
  it('observe counts only records that say which version served them and what it predicted', () => {
    const base = { schema: 1, model: 'm', knownLabel: true, receivedAt: new Date().toISOString() } as const;
    const rec = (version: string | null, prediction: string | null, label: string) =>
      ({ ...base, id: 'x', image: {} as never, version, prediction, label }) as never;
    const records = [rec('v2', 'a', 'a'), rec('v2', 'b', 'a'), rec('v2', null, 'a'), rec(null, 'a', 'a')];
    expect(observe(records, 'v2')).toEqual({ version: 'v2', observations: 2, accuracy: 0.5 });
    expect(observe(records, 'v9')).toEqual({ version: 'v9', observations: 0, accuracy: null });
  });
});

describe('reviewCanaries', () => {
  it('promotes a better canary, rolls back a worse one, waits for too few, ignores models without the rule', async () => {
    const t = await tempStore('edgetune-canary-');
    dirs.push(t.dir);
    const s = t.store;
    const recent = new Date(NOW - HOUR / 2);

    await withCanary(s, 'good');
    await observed(s, 'good', 'v2', 25, 23, { seed: 1, at: recent }); // 92%
    await observed(s, 'good', 'v1', 40, 30, { seed: 2, at: recent }); // 75%
    // Before the canary existed v1 looked perfect; that period must not count.
    await observed(s, 'good', 'v1', 60, 60, { seed: 3, at: new Date(NOW - 2 * HOUR) });

    await withCanary(s, 'bad');
    await observed(s, 'bad', 'v2', 30, 15, { seed: 4, at: recent }); // 50%
    await observed(s, 'bad', 'v1', 30, 27, { seed: 5, at: recent }); // 90%

    await withCanary(s, 'young');
    await observed(s, 'young', 'v2', 5, 5, { seed: 6, at: recent });
    await observed(s, 'young', 'v1', 30, 10, { seed: 7, at: recent });

    await withCanary(s, 'manual');
    await updatePolicy(s, 'manual', { autoPromote: null });
    await observed(s, 'manual', 'v2', 30, 30, { seed: 8, at: recent });
    await observed(s, 'manual', 'v1', 30, 0, { seed: 9, at: recent });
    const manualBefore = await readRouting(s, 'manual');

    const reviews = await reviewCanaries(s);
    const by = Object.fromEntries(reviews.map((r) => [r.model, r]));
    expect(Object.keys(by).sort()).toEqual(['bad', 'good', 'young']);
    expect(by.good).toMatchObject({
      action: 'promoted',
      canary: { version: 'v2', observations: 25, accuracy: 0.92 },
      stable: { version: 'v1', observations: 40, accuracy: 0.75 },
    });
    expect(by.bad).toMatchObject({
      action: 'rolled-back',
      canary: { accuracy: 0.5 },
      stable: { accuracy: 0.9 },
    });
    expect(by.young).toMatchObject({ action: 'waiting', canary: { observations: 5 } });

    expect((await readRouting(s, 'good'))!.doc).toMatchObject({ stable: 'v2', candidates: [] });
    expect((await readRouting(s, 'bad'))!.doc).toMatchObject({ stable: 'v1', candidates: [] });
    expect((await readRouting(s, 'young'))!.doc).toMatchObject({
      stable: 'v1',
      candidates: [{ version: 'v2', weight: 30 }],
    });
    expect(await readRouting(s, 'manual')).toEqual(manualBefore);
    const history = await readRoutingHistory(s, 'good', (await readRouting(s, 'good'))!.etag);
    expect(history.at(-1)).toMatchObject({
      action: 'promote',
      reason: expect.stringMatching(/^auto-promote/),
    });

    // A second pass finds nothing left to decide for the promoted/rolled-back models.
    expect((await reviewCanaries(s)).map((r) => [r.model, r.action])).toEqual([['young', 'waiting']]);
  });

  it('runs as a step of the worker pass (before claiming jobs)', async () => {
    const t = await tempStore('edgetune-canary-worker-');
    dirs.push(t.dir);
    await withCanary(t.store, 'good');
    await observed(t.store, 'good', 'v2', 20, 20, { seed: 11, at: new Date(NOW - HOUR / 2) });
    await observed(t.store, 'good', 'v1', 20, 10, { seed: 12, at: new Date(NOW - HOUR / 2) });
    const options = { store: t.store, retrain: tinyRetrain([]), device: resolveDevice('cpu') };
    expect((await runWorkerOnce(options)).canaries).toBeUndefined();
    const r = await runWorkerOnce({ ...options, reviewCanaries: true });
    expect(r.status).toBe('idle');
    expect(r.canaries).toMatchObject([{ model: 'good', action: 'promoted' }]);
    expect((await readRouting(t.store, 'good'))!.doc.stable).toBe('v2');
  });
});
