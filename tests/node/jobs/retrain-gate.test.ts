/**
 * The retraining gate with the tiny task (real ONNX models, real onnxruntime-node, real file
 * store): one live canary per model, judged against stable AND canary on the same holdout, and
 * poisoned feedback stopped and quarantined before anything is trained or published.
 */
import { rm } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { acceptQuarantined, listQuarantine, rejectQuarantined } from '../../../shared/feedback/quarantine.ts';
import { countFeedbackSince, listFeedback } from '../../../shared/feedback/store.ts';
import { judgeAgreement } from '../../../shared/jobs/agreement.ts';
import { decideCanary } from '../../../shared/jobs/gate.ts';
import { createJob, locateJob } from '../../../shared/jobs/ledger.ts';
import { updatePolicy } from '../../../shared/jobs/policy.ts';
import { RetrainOutcomeSchema, RetrainPolicySchema } from '../../../shared/jobs/schema.ts';
import { readRouting } from '../../../shared/routing/operations.ts';
import { listVersionIds } from '../../../shared/registry/versions.ts';
import { createRng, shuffled } from '../../../shared/random.ts';
import type { ObjectStore } from '../../../shared/store/types.ts';
import { resolveDevice } from '../../../training/device.ts';
import { loadFeedbackData } from '../../../training/jobs/feedback-data.ts';
import { runWorkerOnce } from '../../../training/jobs/runner.ts';
import {
  addFeedback,
  fitCentroids,
  makeSamples,
  publishWeakStable,
  type Sample,
  tempStore,
  tinyRetrain,
} from './tiny-task.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
const device = resolveDevice('cpu');
/** A large fixed holdout (the trusted evaluation set): small models differ by a few points. */
const holdout = makeSamples(1001, 400);
const CANARY_WEIGHT = 25;

/** Nearest centroid on the first pixel only (top-left, in the "left" half): weaker than all 16. */
function onePixel(xs: Float32Array[], ys: string[]) {
  const { w, b } = fitCentroids(
    xs.map((x) => x.map((v, j) => (j === 0 ? v : 0))),
    ys,
  );
  return { w, b };
}

/**
 * The one-pixel model with its decision threshold moved a quarter of the way towards the "left"
 * mean: it misses more bright-left images, so it is worse than `onePixel` but still far better
 * than the majority-class v1.
 */
function onePixelBiased(xs: Float32Array[], ys: string[]) {
  const { w, b } = onePixel(xs, ys);
  const gap = w[0]! - w[16]!; // μ_left − μ_right of pixel 0
  b[0]! -= 0.25 * gap * gap;
  return { w, b };
}

async function round(
  s: ObjectStore,
  samples: Sample[],
  fit: (xs: Float32Array[], ys: string[]) => { w: Float32Array; b: Float32Array },
) {
  // The trigger's `since` is the newest version's time, as the scheduler sets it.
  const versions = await listVersionIds(s, 'tiny');
  const since = new Date(Date.now() - 1);
  await addFeedback(s, 'tiny', samples);
  const { job } = await createJob(s, {
    model: 'tiny',
    reason: 'test',
    trigger: {
      newSamples: samples.length,
      newestVersion: versions.at(-1) ?? null,
      newestVersionAt: since.toISOString(),
      since: since.toISOString(),
    },
  });
  const r = await runWorkerOnce({
    store: s,
    retrain: tinyRetrain(holdout, { count: 0 }, fit),
    device,
    worker: 'w1',
    leaseSeconds: 30,
  });
  const routing = (await readRouting(s, 'tiny'))!;
  const weights = routing.doc.candidates.reduce((sum, c) => sum + c.weight, 0);
  return { r, job, routing, weights };
}

describe('retrain gate: one live canary per model', () => {
  it('good round → v2 canary; worse than v2 → refused; better → replaces v2; poisoned → stopped and quarantined', async () => {
    const t = await tempStore('edgetune-gate-');
    dirs.push(t.dir);
    const s = t.store;
    await publishWeakStable(s, 'tiny', new Date(Date.now() - 3_600_000));
    await updatePolicy(s, 'tiny', {
      minNewSamples: 10,
      canaryWeight: CANARY_WEIGHT,
      minImprovement: 0.01,
      minFeedbackAgreement: 0.5,
      minAgreementSamples: 20,
    });

    // 1. Good feedback, a one-pixel model: beats the majority-class v1 → canary.
    const one = await round(s, makeSamples(2001, 24), onePixel);
    expect(one.r.status).toBe('done');
    const v2acc = one.r.job!.outcome!.candidateMetrics.accuracy!;
    expect(v2acc).toBeGreaterThan(0.8);
    expect(one.r.decision).toMatchObject({ routed: true, replaced: [] });
    expect(one.r.decision!.comparisons.map((c) => [c.against, c.version, c.passed])).toEqual([
      ['stable', 'v1', true],
    ]);
    // v1 is a majority-class predictor (no better than chance): it cannot judge labels.
    expect(one.r.job!.screening).toMatchObject({ passed: true, samples: 24, reference: null });
    expect(one.routing.doc).toMatchObject({ stable: 'v1', candidates: [{ version: 'v2', weight: 25 }] });
    expect(one.weights).toBeLessThanOrEqual(CANARY_WEIGHT);

    // 2. Good feedback again, a biased one-pixel model: beats v1, loses to the canary v2 → refused.
    const two = await round(s, makeSamples(2002, 24), onePixelBiased);
    expect(two.r.status).toBe('done');
    const out2 = two.r.job!.outcome!;
    expect(out2.candidateVersion).toBe('v3');
    expect(out2.canaryMetrics.v2?.accuracy).toBe(v2acc);
    expect(out2.candidateMetrics.accuracy!).toBeGreaterThan(out2.stableMetrics.accuracy! + 0.01);
    expect(out2.candidateMetrics.accuracy!).toBeLessThan(v2acc);
    expect(two.r.decision!.routed).toBe(false);
    expect(two.r.decision!.comparisons.map((c) => [c.against, c.version, c.passed])).toEqual([
      ['stable', 'v1', true],
      ['canary', 'v2', false],
    ]);
    expect(two.r.decision!.reason).toMatch(/^rejected: .*vs canary v2/);
    expect(two.routing.etag).toBe(one.routing.etag);
    expect(two.weights).toBeLessThanOrEqual(CANARY_WEIGHT);
    // The job's log shows both comparisons.
    const log2 = (await locateJob(s, two.job.id))!.job.log.map((l) => l.message).join('\n');
    expect(log2).toMatch(/gate: beats accuracy .* vs stable v1/);
    expect(log2).toMatch(/gate: does not beat accuracy .* vs canary v2/);

    // 3. A full 16-pixel model: beats v1 and v2 → replaces v2 (v2 stays a published version).
    const three = await round(s, makeSamples(2003, 24), fitCentroids);
    expect(three.r.decision).toMatchObject({ routed: true, replaced: ['v2'] });
    expect(three.r.job!.outcome!.candidateMetrics.accuracy!).toBeGreaterThan(v2acc + 0.01);
    expect(three.routing.doc).toMatchObject({ stable: 'v1', candidates: [{ version: 'v4', weight: 25 }] });
    expect(three.weights).toBeLessThanOrEqual(CANARY_WEIGHT);
    expect(await listVersionIds(s, 'tiny')).toEqual(['v1', 'v2', 'v3', 'v4']);

    // 4. Shuffled labels: the canary v4 (the most accurate reference) disagrees → stopped.
    const clean = makeSamples(2004, 40);
    const labels = shuffled(
      clean.map((x) => x.label),
      createRng(7),
    );
    const poisoned = clean.map((x, i) => ({ png: x.png, label: labels[i]! }));
    const before = await listFeedback(s, 'tiny');
    const four = await round(s, poisoned, fitCentroids);
    expect(four.r.status).toBe('stopped');
    const stopped = (await locateJob(s, four.job.id))!;
    expect(stopped.state).toBe('failed');
    expect(stopped.job.error).toMatch(/^stopped: feedback looks poisoned or noisy: 40 new samples/);
    expect(stopped.job.error).toMatch(/40 samples moved to datasets\/tiny\/feedback\/quarantine\//);
    expect(stopped.job.screening).toMatchObject({ passed: false, samples: 40, reference: 'v4' });
    expect(stopped.job.screening!.score!).toBeLessThan(0.5);
    expect(stopped.job.outcome).toBeNull();
    // Nothing published, routing untouched, the batch out of training and out of the trigger count.
    expect(await listVersionIds(s, 'tiny')).toEqual(['v1', 'v2', 'v3', 'v4']);
    expect(four.routing.etag).toBe(three.routing.etag);
    expect((await listFeedback(s, 'tiny')).map((r) => r.id)).toEqual(before.map((r) => r.id));
    expect(await countFeedbackSince(s, 'tiny', null)).toBe(before.length);
    const held = await listQuarantine(s, 'tiny');
    expect(held).toHaveLength(40);
    expect(held.every((q) => q.job === four.job.id && /poisoned/.test(q.reason))).toBe(true);

    // Review: reject 39, accept one (it goes back into training and counts as new).
    const [keep, ...drop] = held;
    expect(
      await rejectQuarantined(
        s,
        'tiny',
        drop.map((q) => q.record.id),
      ),
    ).toBe(39);
    const accepted = await acceptQuarantined(s, 'tiny', [keep!.record.id]);
    expect(accepted[0]!.label).toBe(keep!.record.label);
    expect(await listQuarantine(s, 'tiny')).toEqual([]);
    expect((await listFeedback(s, 'tiny')).length).toBe(before.length + 1);
    expect(await countFeedbackSince(s, 'tiny', null)).toBe(before.length + 1);
    await expect(rejectQuarantined(s, 'tiny', [keep!.record.id])).rejects.toThrow(/no quarantined feedback/);
  }, 120_000);

  it('a candidate must beat every live canary; the winner replaces them all, so weights never exceed the canary weight', () => {
    const policy = RetrainPolicySchema.parse({ minImprovement: 0.02, canaryWeight: 30 });
    const outcome = (c: number, canaries: Record<string, number>) =>
      RetrainOutcomeSchema.parse({
        candidateVersion: 'v5',
        candidateMetrics: { accuracy: c },
        stableMetrics: { accuracy: 0.6 },
        stableVersion: 'v1',
        canaryMetrics: Object.fromEntries(Object.entries(canaries).map(([v, a]) => [v, { accuracy: a }])),
      });
    // Two canaries left by an older gate: beating one is not enough.
    const d1 = decideCanary(outcome(0.8, { v2: 0.7, v3: 0.79 }), policy, ['v2', 'v3']);
    expect(d1.routed).toBe(false);
    expect(d1.comparisons.map((c) => c.passed)).toEqual([true, true, false]);
    const d2 = decideCanary(outcome(0.85, { v2: 0.7, v3: 0.79 }), policy, ['v2', 'v3']);
    expect(d2).toMatchObject({ routed: true, replaced: ['v2', 'v3'], canaryWeight: 30 });
    // A live canary the step did not measure cannot be beaten.
    const d3 = decideCanary(outcome(0.95, {}), policy, ['v4']);
    expect(d3.routed).toBe(false);
    expect(d3.reason).toMatch(/canary v4 has no finite "accuracy"/);
  });
});

describe('trusted holdout and the agreement score', () => {
  it('only trusted feedback is held out; untrusted feedback trains and is the batch that is judged', async () => {
    const t = await tempStore('edgetune-trusted-');
    dirs.push(t.dir);
    const s = t.store;
    const since = new Date(Date.now() - 60_000);
    await addFeedback(s, 'tiny', makeSamples(3001, 60), new Date(since.getTime() - 1000), true);
    await addFeedback(s, 'tiny', makeSamples(3002, 60), new Date(since.getTime() - 1000));
    await addFeedback(s, 'tiny', makeSamples(3003, 30), new Date());
    const data = await loadFeedbackData(s, 'tiny', { holdoutFraction: 0.5, since });
    expect(data.records).toBe(150);
    expect(data.trusted).toBe(60);
    expect(data.holdout.length).toBeGreaterThan(10);
    expect(data.holdout.every((x) => x.record.trusted)).toBe(true);
    expect(data.train.length + data.holdout.length).toBe(150);
    expect(data.train.filter((x) => !x.record.trusted)).toHaveLength(90);
    expect(data.fresh).toHaveLength(30);
    expect(data.fresh.every((x) => !x.record.trusted && new Date(x.record.receivedAt) > since)).toBe(true);
  });

  it('scores agreement against the most accurate reference; small batches and 0 are not judged', () => {
    const policy = { minFeedbackAgreement: 0.5, minAgreementSamples: 20 };
    // 5 classes: a stable at 60% and a canary at 90% on the holdout.
    const refs = [
      { version: 'v1', role: 'stable' as const, agreeing: 55, holdoutAccuracy: 0.6, chance: 0.2 },
      { version: 'v2', role: 'canary' as const, agreeing: 45, holdoutAccuracy: 0.9, chance: 0.2 },
    ];
    const v = judgeAgreement(100, refs, policy);
    expect(v).toMatchObject({ passed: false, reference: 'v2' });
    expect(v.score).toBeCloseTo((0.45 - 0.2) / (0.9 - 0.2), 6);
    expect(v.references[0]!.score).toBeCloseTo((0.55 - 0.2) / (0.6 - 0.2), 6);
    expect(judgeAgreement(100, [refs[0]!, { ...refs[1]!, agreeing: 85 }], policy).passed).toBe(true);
    // A reference no better than chance cannot judge: not stopped.
    expect(judgeAgreement(100, [{ ...refs[0]!, holdoutAccuracy: 0.22, agreeing: 0 }], policy)).toMatchObject({
      passed: true,
      score: null,
    });
    expect(judgeAgreement(19, refs, policy)).toMatchObject({ passed: true });
    expect(judgeAgreement(100, refs, { ...policy, minFeedbackAgreement: 0 }).passed).toBe(true);
  });
});
