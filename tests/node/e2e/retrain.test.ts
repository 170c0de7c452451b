/**
 * Retraining end to end with real components only:
 *   v1 trained by runTraining (a backbone pretrained on mnist digits 0–4, target: the OpenCV
 *   digits sheet 5–9 with only 2 training images per class) and published to a file store →
 *   the Worker in workerd (startLocalEdge, R2 mirrored with the store) → labelled feedback POSTed
 *   over HTTP (some with the reviewer token: trusted, the only feedback that may judge) → cron
 *   fired → one pending job → `edgetune worker --once` (a spawned CLI). The backbone file v1 was
 *   trained from is deleted before the worker runs: retraining uses the copy publishing put in the
 *   store. The gate keeps ONE live canary, judged against stable and canary:
 *   1. a good round → v2 becomes the 30% canary (the edge serves it to about 30% of user keys);
 *   2. a round with a systematic mislabel (every "9" sent as "7") passes the feedback check but
 *      its candidate is worse than v2 → refused, routing unchanged;
 *   3. a larger good round → its candidate beats v1 and v2 → replaces v2 (v2 out of routing);
 *   4. shuffled labels → stopped as poisoned, samples quarantined, nothing published, routing
 *      unchanged;
 *   and at every step the candidates' weights sum to at most the policy's 30%. Finally live
 *   feedback (version + prediction) → the worker's canary review promotes the canary.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { encode } from 'fast-png';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listQuarantine } from '../../../shared/feedback/quarantine.ts';
import { listFeedback } from '../../../shared/feedback/store.ts';
import { listJobs, locateJob } from '../../../shared/jobs/ledger.ts';
import { updatePolicy } from '../../../shared/jobs/policy.ts';
import { readRouting } from '../../../shared/routing/operations.ts';
import { listVersionIds, requireManifest } from '../../../shared/registry/versions.ts';
import { createRng, shuffled } from '../../../shared/random.ts';
import { loadDataset } from '../../../training/datasets/load.ts';
import type { Dataset } from '../../../training/datasets/types.ts';
import { defaultFeatureCacheDir } from '../../../training/features/cache.ts';
import { type LocalEdge, startLocalEdge } from '../../../local-edge/local-edge.ts';
import { FileStore } from '../../../shared/store/node/file.ts';
import { readRecipe } from '../../../training/train/recipe.ts';
import { runTraining } from '../../../training/train/run.ts';
import { mnistBackbone, ROOT, tmpDir } from '../train/fixtures.ts';

const run = promisify(execFile);
const BIN = path.join(ROOT, 'bin', 'edgetune.mjs');
const FEEDBACK_TOKEN = 'e2e-feedback-token';
const REVIEWER_TOKEN = 'e2e-reviewer-token';
const CANARY_WEIGHT = 30;
// The feature cache the CLI worker (cwd ROOT) will use, so the retrain can reuse v1's features.
const CACHE = defaultFeatureCacheDir(ROOT);
const CLASSES = 'opencv-digits:classes=5-9';
/** Disjoint selections of the sheet (same seed). */
const V1_DATA = `${CLASSES}:per-class=3`;
const TRUSTED = `${CLASSES}:skip-per-class=3:per-class=12`;
const ROUND1 = `${CLASSES}:skip-per-class=15:per-class=12`;
const ROUND2 = `${CLASSES}:skip-per-class=27:per-class=16`;
const ROUND3 = `${CLASSES}:skip-per-class=43:per-class=45`;
const POISON = `${CLASSES}:skip-per-class=88:per-class=12`;
const TEST = `${CLASSES}:skip-per-class=100:per-class=40`;
const LIVE = `${CLASSES}:skip-per-class=140:per-class=30`;

function png(ds: Dataset, i: number): Uint8Array {
  const { width, height, channels, data } = ds.samples[i]!.image;
  return encode({ width, height, data, channels, depth: 8 });
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const labelOf = (ds: Dataset, i: number) => ds.labels[ds.samples[i]!.label]!;

describe('retraining end to end: feedback → cron → worker → one live canary at the edge', () => {
  const dir = tmpDir('e2e-retrain');
  const storeUrl = `file://${dir}/store`;
  const store = new FileStore(path.join(dir, 'store'));
  let edge: LocalEdge;
  /** v1's test accuracy as runTraining measured it (tfjs) at training time. */
  let v1Accuracy = 0;
  const t0 = performance.now();
  const lap = (what: string) => console.log(`[${((performance.now() - t0) / 1000).toFixed(1)} s] ${what}`);

  async function worker(): Promise<Record<string, unknown>> {
    const r = await run(
      process.execPath,
      [BIN, 'worker', '--once', '--store', storeUrl, '--device', 'cpu', '--json'],
      {
        cwd: ROOT,
        env: { ...process.env, EDGETUNE_STORE: '' },
        // A stuck worker fails the test with its output instead of hanging it.
        timeout: 240_000,
      },
    );
    return JSON.parse(r.stdout) as Record<string, unknown>;
  }

  async function classify(name: string, image: Uint8Array, key: string) {
    const res = await fetch(new URL(`/v1/models/${name}/classify?top_k=1`, edge.url), {
      method: 'POST',
      headers: { 'content-type': 'image/png', 'x-user-key': key },
      body: new Blob([image as Uint8Array<ArrayBuffer>]),
      signal: AbortSignal.timeout(30_000),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { version: string; predictions: { label: string }[] };
    expect(res.headers.get('x-model-version')).toBe(body.version);
    return { version: body.version, prediction: body.predictions[0]!.label };
  }

  async function postFeedback(
    name: string,
    body: Record<string, string>,
    token = FEEDBACK_TOKEN,
  ): Promise<{ status: number; trusted?: boolean }> {
    const res = await fetch(new URL(`/v1/models/${name}/feedback`, edge.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const json = (await res.json()) as { trusted?: boolean };
    return { status: res.status, trusted: json.trusted };
  }

  /** Posts a whole selection (labels from `labels`, default the true ones); all must be new. */
  async function postAll(ds: Dataset, labels?: string[], token = FEEDBACK_TOKEN) {
    for (let i = 0; i < ds.samples.length; i++) {
      const r = await postFeedback(
        'digits',
        { image: b64(png(ds, i)), label: labels?.[i] ?? labelOf(ds, i) },
        token,
      );
      expect(r).toEqual({ status: 201, trusted: token === REVIEWER_TOKEN });
    }
  }

  /** Cron at the edge, mirrored back: returns the pending jobs in the store. */
  async function cron() {
    const copied = (await edge.sync()).copiedToStore;
    await edge.triggerScheduled();
    await edge.sync();
    lap(`cron fired (${copied} objects mirrored from the edge first)`);
    return listJobs(store, 'pending');
  }

  /** The routing document, checked against the one-canary invariant. */
  async function routing() {
    const r = (await readRouting(store, 'digits'))!;
    expect(r.doc.candidates.length).toBeLessThanOrEqual(1);
    expect(r.doc.candidates.reduce((sum, c) => sum + c.weight, 0)).toBeLessThanOrEqual(CANARY_WEIGHT);
    return r;
  }

  /** One retrain round: cron → exactly one job → worker; returns the worker's JSON and the job. */
  async function round(newSamples: number) {
    const pending = await cron();
    expect(pending).toHaveLength(1);
    expect(pending[0]).toMatchObject({ model: 'digits', trigger: { newSamples } });
    const w0 = performance.now();
    const result = await worker();
    lap(`worker --once: ${result.status} in ${((performance.now() - w0) / 1000).toFixed(1)} s`);
    const job = (await locateJob(store, pending[0]!.id))!;
    return { result, job: job.job, state: job.state };
  }

  /**
   * Mirrors the store into R2. The Worker runs with ROUTING_TTL_SECONDS=0 here (routing re-read
   * on every request), so once the mirror pass has finished the next request sees the change;
   * the TTL cache itself is covered by tests/workers/routing.test.ts.
   */
  async function propagate() {
    await edge.sync();
  }

  beforeAll(async () => {
    // A copy of the backbone only this "training machine" has: it is deleted before the worker
    // runs, as on a Kubernetes node, so retraining must use the copy publishing put in the store.
    const backbone = path.join(dir, 'backbone.onnx');
    fs.copyFileSync(await mnistBackbone('narrow'), backbone);
    const r = await runTraining({
      backbone,
      data: V1_DATA,
      testData: TEST,
      valSplit: 0.34,
      name: 'digits',
      seed: 1,
      out: path.join(dir, 'export-digits'),
      cacheDir: CACHE,
      store: storeUrl,
    });
    expect(r.version).toBe('v1');
    v1Accuracy = r.accuracy;
    lap(`v1 trained and published (test accuracy ${(v1Accuracy * 100).toFixed(1)}% on 2 images per class)`);
    await updatePolicy(store, 'digits', {
      minNewSamples: 50,
      canaryWeight: CANARY_WEIGHT,
      minImprovement: 0.01,
      minFeedbackAgreement: 0.5,
      minAgreementSamples: 20,
    });
    edge = await startLocalEdge(store, {
      port: 0,
      feedbackToken: FEEDBACK_TOKEN,
      adminToken: 'e2e-admin',
      syncIntervalMs: 0,
      persistDir: path.join(dir, 'r2'),
      vars: { ROUTING_TTL_SECONDS: '0', REVIEWER_TOKEN },
    });
    lap('edge started');
  }, 600_000);

  afterAll(async () => {
    await edge?.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('round 1: reviewer-labelled + ordinary feedback → v2 wins on the trusted holdout → 30% canary at the edge', async () => {
    const recipe = await readRecipe(store, 'digits', 'v1');
    expect(recipe).toMatchObject({ data: V1_DATA, testData: TEST, options: { seed: 1, valSplit: 0.34 } });
    const trusted = await loadDataset(TRUSTED, { seed: 1 });
    const good = await loadDataset(ROUND1, { seed: 1 });
    // Served by v1 before any retraining.
    expect((await classify('digits', png(good, 0), 'warm-up')).version).toBe('v1');
    await postAll(trusted, undefined, REVIEWER_TOKEN);
    await postAll(good);
    // The same pair again is stored once.
    expect(await postFeedback('digits', { image: b64(png(good, 0)), label: labelOf(good, 0) })).toEqual({
      status: 200,
      trusted: false,
    });
    lap('60 reviewer + 60 ordinary feedback images posted to the Worker');

    fs.rmSync(path.join(dir, 'backbone.onnx'));
    const { result, job } = await round(120);
    expect(result).toMatchObject({
      status: 'done',
      candidate: 'v2',
      decision: { routed: true, canaryWeight: CANARY_WEIGHT, replaced: [] },
      screening: { passed: true, samples: 60 },
    });
    const outcome = job.outcome!;
    const cand = outcome.candidateMetrics;
    const stab = outcome.stableMetrics;
    console.log(
      `holdout ${cand.samples} images: v2 ${(cand.accuracy! * 100).toFixed(1)}% vs v1 ${(stab.accuracy! * 100).toFixed(1)}%; ${job.screening?.reason}`,
    );
    // Same holdout for both: the 200 base test images plus the held-out slice of TRUSTED feedback.
    expect(cand.samples).toBe(stab.samples);
    const report = outcome.report as {
      holdout: { baseTest: number; feedback: number };
      feedback: { trusted: number; fresh: number };
      features: { cacheHits: number };
    };
    expect(report.holdout.baseTest).toBe(200);
    expect(report.feedback).toMatchObject({ trusted: 60, fresh: 60 });
    expect(report.holdout.feedback).toBeGreaterThan(0);
    expect(report.holdout.feedback).toBeLessThan(60);
    expect(cand.samples).toBe(200 + report.holdout.feedback);
    // The stable's number is its own measured accuracy: on the base test part it equals v1's
    // training-time test accuracy (same images, same model, ORT vs tfjs within parity).
    expect(Math.abs(stab.baseTestAccuracy! - v1Accuracy)).toBeLessThanOrEqual(0.0051);
    expect(cand.accuracy! - stab.accuracy!).toBeGreaterThanOrEqual(0.01);
    expect(report.features.cacheHits).toBeGreaterThanOrEqual(15);
    const jobLog = job.log.map((l) => l.message).join('\n');
    expect(jobLog).toMatch(/published candidate digits v2 \(unrouted\)/);
    expect(jobLog).toMatch(
      /backbone .*backbone\.onnx is not on this machine: using the store's copy backbones\//,
    );
    expect((await requireManifest(store, 'digits', 'v2')).parent).toBe('v1');
    expect((await routing()).doc).toMatchObject({
      stable: 'v1',
      candidates: [{ version: 'v2', weight: CANARY_WEIGHT }],
    });

    await propagate();
    const image = png(good, 1);
    const served: string[] = [];
    for (let i = 0; i < 300; i += 10) {
      served.push(
        ...(await Promise.all(
          Array.from(
            { length: 10 },
            async (_, k) => (await classify('digits', image, `user-${i + k}`)).version,
          ),
        )),
      );
    }
    const share = served.filter((v) => v === 'v2').length / served.length;
    lap(`300 keys: ${(share * 100).toFixed(1)}% served by v2`);
    expect(served.every((v) => v === 'v1' || v === 'v2')).toBe(true);
    // 30% ± 3.3 standard deviations of a binomial share over 300 keys (σ = 2.6 points).
    expect(share).toBeGreaterThan(0.21);
    expect(share).toBeLessThan(0.39);
    expect((await classify('digits', image, 'user-7')).version).toBe(served[7]);
  }, 300_000);

  it('round 2: every "9" sent as "7" passes the feedback check, but its candidate is worse than canary v2 → refused', async () => {
    const before = await routing();
    const ds = await loadDataset(ROUND2, { seed: 1 });
    const labels = ds.samples.map((_, i) => (labelOf(ds, i) === '9' ? '7' : labelOf(ds, i)));
    await postAll(ds, labels);
    const { result, job } = await round(ds.samples.length);
    expect(result).toMatchObject({ status: 'done', candidate: 'v3', decision: { routed: false } });
    expect(job.screening).toMatchObject({ passed: true, samples: 80 });
    const d = job.decision!;
    console.log(`round 2: ${d.reason}`);
    expect(d.comparisons.map((c) => [c.against, c.version])).toEqual([
      ['stable', 'v1'],
      ['canary', 'v2'],
    ]);
    const vsCanary = d.comparisons[1]!;
    expect(vsCanary.passed).toBe(false);
    expect(vsCanary.candidate!).toBeLessThan(vsCanary.other!);
    expect(job.outcome!.canaryMetrics.v2?.accuracy).toBe(vsCanary.other);
    expect(d.reason).toMatch(/^rejected: .*vs canary v2/);
    const after = await routing();
    expect(after.etag).toBe(before.etag);
    // jobs show prints every comparison.
    const show = await run(process.execPath, [BIN, 'jobs', 'show', job.id, '--store', storeUrl], {
      cwd: ROOT,
    });
    expect(show.stdout).toMatch(/compared: (beats|does not beat) accuracy .* vs stable v1/);
    expect(show.stdout).toMatch(/compared: does not beat accuracy .* vs canary v2/);
  }, 300_000);

  it('round 3: a larger good round → its candidate beats v1 and v2 → replaces v2, which leaves routing', async () => {
    const ds = await loadDataset(ROUND3, { seed: 1 });
    await postAll(ds);
    const { result, job } = await round(ds.samples.length);
    const d = job.decision!;
    console.log(`round 3: ${d.reason}`);
    expect(result).toMatchObject({
      status: 'done',
      candidate: 'v4',
      decision: { routed: true, replaced: ['v2'] },
    });
    expect(d.comparisons.map((c) => [c.against, c.version, c.passed])).toEqual([
      ['stable', 'v1', true],
      ['canary', 'v2', true],
    ]);
    expect((await routing()).doc).toMatchObject({
      stable: 'v1',
      candidates: [{ version: 'v4', weight: CANARY_WEIGHT }],
    });
    expect(await listVersionIds(store, 'digits')).toEqual(['v1', 'v2', 'v3', 'v4']);
    await propagate();
    const probe = png(ds, 0);
    const served = await Promise.all(
      Array.from({ length: 60 }, async (_, k) => (await classify('digits', probe, `user-${k}`)).version),
    );
    expect(served.filter((v) => v === 'v2')).toEqual([]);
    expect(new Set(served)).toEqual(new Set(['v1', 'v4']));
  }, 300_000);

  it('round 4: shuffled labels → stopped as poisoned, samples quarantined, nothing published, routing unchanged', async () => {
    const before = await routing();
    const versions = await listVersionIds(store, 'digits');
    const ds = await loadDataset(POISON, { seed: 1 });
    const wrong = shuffled(
      ds.samples.map((_, i) => labelOf(ds, i)),
      createRng(99),
    );
    await postAll(ds, wrong);
    // Records in the store before the round (the new batch is still only in the edge's R2).
    const records = (await listFeedback(store, 'digits')).length;
    const { result, job, state } = await round(ds.samples.length);
    console.log(`round 4: ${job.error}`);
    expect(result).toMatchObject({ status: 'stopped', screening: { passed: false, samples: 60 } });
    expect(state).toBe('failed');
    expect(job.error).toMatch(/^stopped: feedback looks poisoned or noisy: 60 new samples/);
    expect(job.screening!.score!).toBeLessThan(0.5);
    expect(job.outcome).toBeNull();
    expect(await listVersionIds(store, 'digits')).toEqual(versions);
    expect((await routing()).etag).toBe(before.etag);
    const held = await listQuarantine(store, 'digits');
    expect(held.map((q) => q.job)).toEqual(Array(60).fill(job.id));
    // The batch reached the store with the cron's mirror pass and left records/ for quarantine.
    const heldIds = new Set(held.map((q) => q.record.id));
    const left = await listFeedback(store, 'digits');
    expect(left.filter((r) => heldIds.has(r.id))).toEqual([]);
    expect(left.length).toBe(records);
    // The quarantined batch no longer counts as new feedback: the next tick creates no job.
    expect(await cron()).toEqual([]);
  }, 300_000);

  it('auto-promotion: live feedback (version + prediction) from canary users → the worker promotes v4', async () => {
    await updatePolicy(store, 'digits', { autoPromote: { afterObservations: 20, tolerance: 0.05 } });
    const live = await loadDataset(LIVE, { seed: 1 });
    for (let i = 0; i < live.samples.length; i++) {
      const served = await classify('digits', png(live, i), `live-${i}`);
      const r = await postFeedback('digits', {
        image: b64(png(live, i)),
        label: labelOf(live, i),
        version: served.version,
        prediction: served.prediction,
      });
      expect(r.status).toBe(201);
    }
    await edge.sync();
    const result = await worker();
    expect(result.status).toBe('idle'); // no cron ran: no job, only the canary review
    const [review] = result.canaries as {
      action: string;
      reason: string;
      canary: { observations: number; accuracy: number };
      stable: { observations: number; accuracy: number };
    }[];
    console.log(`canary review: ${review?.reason}`);
    expect(review!.canary.observations + review!.stable.observations).toBe(150);
    expect(review!.canary.observations).toBeGreaterThanOrEqual(20);
    expect(review!.canary.accuracy).toBeGreaterThan(review!.stable.accuracy);
    expect(review!.action).toBe('promoted');
    expect((await routing()).doc).toMatchObject({ stable: 'v4', candidates: [] });
    await propagate();
    for (let i = 0; i < 10; i++)
      expect((await classify('digits', png(live, i), `user-${i}`)).version).toBe('v4');
    lap('v4 promoted');
  }, 300_000);
});
