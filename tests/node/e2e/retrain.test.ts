/**
 * Issue 5 acceptance, end to end with real components only:
 *   v1 trained by runTraining (a backbone pretrained on mnist digits 0–4, target: the OpenCV
 *   digits sheet 5–9 with only 2 training images per class) and published to a file store →
 *   the Worker in workerd (startLocalEdge, R2 mirrored with the store) → labelled feedback POSTed
 *   over HTTP → cron fired → exactly one pending job → `edgetune worker --once` (a spawned CLI) →
 *   candidate v2 published, better on the holdout, canary weight 30 → the Worker serves v2 to
 *   about 30% of 400 distinct user keys. The backbone file v1 was trained from is deleted before
 *   the worker runs: retraining uses the copy that publishing put in the store.
 * Then: feedback with shuffled labels → its candidate is rejected and routing is untouched; and
 * live feedback (version + prediction) → the worker's canary review promotes v2.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { encode } from 'fast-png';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { updatePolicy } from '../../../shared/jobs/policy.ts';
import { listJobs, locateJob } from '../../../shared/jobs/ledger.ts';
import { readRouting } from '../../../shared/registry/routing.ts';
import { requireManifest } from '../../../shared/registry/versions.ts';
import { createRng, shuffled } from '../../../shared/random.ts';
import { loadDataset } from '../../../training/datasets/load.ts';
import type { Dataset } from '../../../training/datasets/types.ts';
import { type LocalEdge, startLocalEdge } from '../../../training/serve/local-edge.ts';
import { FileStore } from '../../../training/stores/file.ts';
import { readRecipe } from '../../../training/train/recipe.ts';
import { runTraining } from '../../../training/train/run.ts';
import { defaultFeatureCacheDir } from '../../../training/features/cache.ts';
import { mnistBackbone, ROOT, tmpDir } from '../train/fixtures.ts';

const run = promisify(execFile);
const BIN = path.join(ROOT, 'bin', 'edgetune.mjs');
const FEEDBACK_TOKEN = 'e2e-feedback-token';
// The feature cache the CLI worker (cwd ROOT) will use, so the retrain can reuse v1's features.
const CACHE = defaultFeatureCacheDir(ROOT);
const CLASSES = 'opencv-digits:classes=5-9';
/** Disjoint selections of the sheet (same seed): v1 train, feedback, noisy feedback, live traffic, test. */
const V1_DATA = `${CLASSES}:per-class=3`;
const FEEDBACK = `${CLASSES}:skip-per-class=3:per-class=40`;
const NOISY = `${CLASSES}:skip-per-class=43:per-class=12`;
const LIVE = `${CLASSES}:skip-per-class=55:per-class=30`;
const TEST = `${CLASSES}:skip-per-class=100:per-class=40`;

function png(ds: Dataset, i: number): Uint8Array {
  const { width, height, channels, data } = ds.samples[i]!.image;
  return encode({ width, height, data, channels, depth: 8 });
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

describe('retraining end to end: feedback → cron → worker → canary at the edge', () => {
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
        timeout: 150_000,
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

  async function postFeedback(name: string, body: Record<string, string>): Promise<number> {
    const res = await fetch(new URL(`/v1/models/${name}/feedback`, edge.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${FEEDBACK_TOKEN}` },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    await res.arrayBuffer();
    return res.status;
  }

  /** Cron at the edge, mirrored back: returns the pending jobs in the store. */
  async function cron() {
    const copied = (await edge.sync()).copiedToStore;
    await edge.triggerScheduled();
    await edge.sync();
    lap(`cron fired (${copied} objects mirrored from the edge first)`);
    return listJobs(store, 'pending');
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
    for (const name of ['digits', 'noisy']) {
      const r = await runTraining({
        backbone,
        data: V1_DATA,
        testData: TEST,
        valSplit: 0.34,
        name,
        seed: 1,
        out: path.join(dir, `export-${name}`),
        cacheDir: CACHE,
        store: storeUrl,
      });
      expect(r.version).toBe('v1');
      if (name === 'digits') v1Accuracy = r.accuracy;
    }
    lap(`v1 trained and published (test accuracy ${(v1Accuracy * 100).toFixed(1)}% on 2 images per class)`);
    await updatePolicy(store, 'digits', { minNewSamples: 50, canaryWeight: 30, minImprovement: 0.02 });
    edge = await startLocalEdge(store, {
      port: 0,
      feedbackToken: FEEDBACK_TOKEN,
      adminToken: 'e2e-admin',
      syncIntervalMs: 0,
      persistDir: path.join(dir, 'r2'),
      vars: { ROUTING_TTL_SECONDS: '0' },
    });
    lap('edge started');
  }, 600_000);

  afterAll(async () => {
    await edge?.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('v1 carries its training recipe; feedback → one job → worker → better v2 gets 30% of 400 keys', async () => {
    const recipe = await readRecipe(store, 'digits', 'v1');
    expect(recipe).toMatchObject({ data: V1_DATA, testData: TEST, options: { seed: 1, valSplit: 0.34 } });

    const fb = await loadDataset(FEEDBACK, { seed: 1 });
    // Served by v1 before any retraining (this also warms the Worker's routing cache).
    expect((await classify('digits', png(fb, 0), 'warm-up')).version).toBe('v1');
    const statuses: number[] = [];
    for (let i = 0; i < fb.samples.length; i++) {
      statuses.push(
        await postFeedback('digits', { image: b64(png(fb, i)), label: fb.labels[fb.samples[i]!.label]! }),
      );
    }
    expect(statuses.filter((s) => s === 201)).toHaveLength(200);
    expect(
      await postFeedback('digits', { image: b64(png(fb, 0)), label: fb.labels[fb.samples[0]!.label]! }),
    ).toBe(200); // duplicate: stored once
    lap('200 feedback images posted to the Worker');

    const pending = await cron();
    expect(pending).toHaveLength(1);
    expect(pending[0]).toMatchObject({ model: 'digits', trigger: { newSamples: 200 } });
    const jobId = pending[0]!.id;

    fs.rmSync(path.join(dir, 'backbone.onnx'));
    const w0 = performance.now();
    const result = await worker();
    lap(`worker --once done in ${((performance.now() - w0) / 1000).toFixed(1)} s`);
    expect(result).toMatchObject({
      status: 'done',
      candidate: 'v2',
      decision: { routed: true, canaryWeight: 30 },
    });
    const job = (await locateJob(store, jobId))!;
    expect(job.state).toBe('done');
    const outcome = job.job.outcome!;
    const cand = outcome.candidateMetrics;
    const stab = outcome.stableMetrics;
    console.log(
      `holdout ${cand.samples} images: v2 ${(cand.accuracy! * 100).toFixed(1)}% vs v1 ${(stab.accuracy! * 100).toFixed(1)}% ` +
        `(base test ${(cand.baseTestAccuracy! * 100).toFixed(1)}% vs ${(stab.baseTestAccuracy! * 100).toFixed(1)}%, ` +
        `held-out feedback ${(cand.feedbackAccuracy! * 100).toFixed(1)}% vs ${(stab.feedbackAccuracy! * 100).toFixed(1)}%)`,
    );
    // Same holdout for both: the 200 base test images plus the held-out slice of feedback.
    expect(cand.samples).toBe(stab.samples);
    const report = outcome.report as {
      holdout: { baseTest: number; feedback: number };
      features: { cacheHits: number };
    };
    expect(report.holdout.baseTest).toBe(200);
    expect(report.holdout.feedback).toBeGreaterThan(20);
    expect(cand.samples).toBe(200 + report.holdout.feedback);
    // The stable's number is its own measured accuracy: on the base test part it equals v1's
    // training-time test accuracy (same images, same model, ORT vs tfjs within parity).
    expect(Math.abs(stab.baseTestAccuracy! - v1Accuracy)).toBeLessThanOrEqual(0.0051);
    expect(cand.accuracy! - stab.accuracy!).toBeGreaterThanOrEqual(0.05);
    expect(cand.baseTestAccuracy!).toBeGreaterThan(stab.baseTestAccuracy!);
    // Base images were extracted when v1 was trained: the retrain reused the feature cache.
    expect(report.features.cacheHits).toBeGreaterThanOrEqual(15);
    const jobLog = job.job.log.map((l) => l.message).join('\n');
    expect(jobLog).toMatch(/published candidate digits v2 \(unrouted\)/);
    expect(jobLog).toMatch(
      /backbone .*backbone\.onnx is not on this machine: using the store's copy backbones\//,
    );

    const v2 = await requireManifest(store, 'digits', 'v2');
    expect(v2.parent).toBe('v1');
    expect((await readRecipe(store, 'digits', 'v2'))?.feedback).toMatchObject({ records: 200 });
    expect((await readRouting(store, 'digits'))!.doc).toMatchObject({
      stable: 'v1',
      candidates: [{ version: 'v2', weight: 30 }],
    });

    await propagate();
    const image = png(fb, 1);
    const served: string[] = [];
    for (let i = 0; i < 400; i += 10) {
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
    lap(`400 keys: ${(share * 100).toFixed(1)}% served by v2`);
    expect(served.every((v) => v === 'v1' || v === 'v2')).toBe(true);
    // 30% ± 3.3 standard deviations of a binomial share over 400 keys (σ = 2.3 points).
    expect(share).toBeGreaterThan(0.225);
    expect(share).toBeLessThan(0.375);
    // Sticky: a key keeps its version.
    expect((await classify('digits', image, 'user-7')).version).toBe(served[7]);
  }, 240_000);

  it('feedback with shuffled labels: the candidate is worse, rejected, and routing is unchanged', async () => {
    await updatePolicy(store, 'noisy', { minNewSamples: 50, canaryWeight: 30, minImprovement: 0.02 });
    const ds = await loadDataset(NOISY, { seed: 1 });
    const wrong = shuffled(
      ds.samples.map((s) => ds.labels[s.label]!),
      createRng(99),
    );
    const agree = wrong.filter((l, i) => l === ds.labels[ds.samples[i]!.label]).length;
    for (let i = 0; i < ds.samples.length; i++) {
      expect(await postFeedback('noisy', { image: b64(png(ds, i)), label: wrong[i]! })).toBe(201);
    }
    const before = await readRouting(store, 'noisy');
    const pending = await cron();
    expect(pending.map((j) => j.model)).toEqual(['noisy']);

    const result = await worker();
    expect(result).toMatchObject({ status: 'done', candidate: 'v2', decision: { routed: false } });
    const decision = result.decision as { reason: string; candidate: number; stable: number };
    console.log(
      `shuffled labels (${agree}/${ds.samples.length} correct by chance): candidate ${(decision.candidate * 100).toFixed(1)}% vs stable ${(decision.stable * 100).toFixed(1)}% → ${decision.reason}`,
    );
    expect(decision.reason).toMatch(/^rejected/);
    expect(decision.candidate).toBeLessThan(decision.stable);
    const after = await readRouting(store, 'noisy');
    expect(after).toEqual(before);
    expect(after!.doc).toMatchObject({ stable: 'v1', candidates: [] });
    // ... and the edge keeps serving v1 to everyone.
    await propagate();
    for (let i = 0; i < 20; i++)
      expect((await classify('noisy', png(ds, i), `user-${i}`)).version).toBe('v1');
    lap('worse candidate rejected');
  }, 240_000);

  it('auto-promotion: live feedback (version + prediction) from canary users → the worker promotes v2', async () => {
    await updatePolicy(store, 'digits', { autoPromote: { afterObservations: 20, tolerance: 0.05 } });
    const live = await loadDataset(LIVE, { seed: 1 });
    for (let i = 0; i < live.samples.length; i++) {
      const truth = live.labels[live.samples[i]!.label]!;
      const served = await classify('digits', png(live, i), `live-${i}`);
      expect(
        await postFeedback('digits', {
          image: b64(png(live, i)),
          label: truth,
          version: served.version,
          prediction: served.prediction,
        }),
      ).toBe(201);
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
    // Live traffic agrees with the offline gate: the canary is the more accurate version.
    expect(review!.canary.accuracy).toBeGreaterThan(review!.stable.accuracy);
    expect(review!.action).toBe('promoted');
    expect((await readRouting(store, 'digits'))!.doc).toMatchObject({ stable: 'v2', candidates: [] });
    await propagate();
    for (let i = 0; i < 10; i++)
      expect((await classify('digits', png(live, i), `user-${i}`)).version).toBe('v2');
    lap('v2 promoted');
  }, 240_000);
});
