/**
 * Feedback capture and the retraining cron inside workerd, over the R2 binding. Most cases use the
 * routes on a bare app with the same error handler; the last block checks the real Worker entry.
 */
import { env } from 'cloudflare:workers';
import { Hono } from 'hono';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENGINE_ONLY } from '../../functions/runtime/backends.ts';
import type { AppEnv } from '../../functions/runtime/env.ts';
import { notFound, onError } from '../../functions/http/middleware/errors.ts';
import worker from '../../functions/index.ts';
import { feedback } from '../../functions/http/routes/feedback.ts';
import { runScheduled, scheduled } from '../../functions/runtime/scheduled.ts';
import { useBackends } from '../../functions/runtime/services.ts';
import { listFeedback } from '../../shared/feedback/store.ts';
import { claimJob, createJob, finishJob, heartbeat, listJobs, reclaimJob } from '../../shared/jobs/ledger.ts';
import { updatePolicy } from '../../shared/jobs/policy.ts';
import { callViaEntry, fixtureImage, publishFixtures, store } from './fixtures.ts';

const MODEL = 'fb';
const TOKEN = 'test-feedback-token';

const app = new Hono<AppEnv>();
app.use(useBackends(ENGINE_ONLY));
app.route('/v1', feedback);
app.onError(onError);
app.notFound(notFound);

async function post(body: BodyInit, headers: Record<string, string>, model = MODEL): Promise<Response> {
  return await app.fetch(
    new Request(`http://edge.test/v1/models/${model}/feedback`, { method: 'POST', headers, body }),
    env,
  );
}

function postJson(body: unknown, token: string | null = TOKEN, model = MODEL): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  return post(JSON.stringify(body), headers, model);
}

async function errorCode(res: Response): Promise<string> {
  return ((await res.json()) as { error: { code: string } }).error.code;
}

/** A PNG whose IHDR announces 20000×20000 pixels: refused from the header, nothing decoded. */
function hugePngHeader(): Uint8Array {
  const b = new Uint8Array(45);
  b.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
  const v = new DataView(b.buffer);
  v.setUint32(16, 20000);
  v.setUint32(20, 20000);
  b.set([8, 2, 0, 0, 0], 24);
  return b;
}

describe('POST /v1/models/{name}/feedback', () => {
  beforeAll(async () => {
    expect(await publishFixtures(MODEL, 1)).toEqual(['v1']);
  });

  it('401 without a token or with a wrong one, nothing stored', async () => {
    const image = fixtureImage('png-rgb-32x32');
    expect((await postJson({ image: image.base64, label: 'circle' }, null)).status).toBe(401);
    const wrong = await postJson({ image: image.base64, label: 'circle' }, 'not-the-token');
    expect(wrong.status).toBe(401);
    expect(await errorCode(wrong)).toBe('unauthorized');
    expect(await listFeedback(store(), MODEL)).toHaveLength(0);
  });

  it('stores JSON feedback once per image+label (201 then 200 duplicate)', async () => {
    const image = fixtureImage('png-rgb-32x32');
    const body = {
      image: image.base64,
      label: 'circle',
      version: 'v1',
      prediction: { label: 'square', score: 0.7 },
    };
    const first = await postJson(body);
    expect(first.status).toBe(201);
    const json = (await first.json()) as Record<string, unknown>;
    expect(json).toMatchObject({ model: MODEL, label: 'circle', knownLabel: true, duplicate: false });
    const again = await postJson(body);
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ id: json.id, duplicate: true });
    const records = await listFeedback(store(), MODEL);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      version: 'v1',
      prediction: 'square',
      image: { format: 'png', width: 32, height: 32 },
    });
    const images = await store().list(`datasets/${MODEL}/feedback/images/`);
    expect(images.objects.map((o) => o.size)).toEqual([image.bytes.byteLength]);
  });

  it('accepts multipart/form-data with an image file and a label field', async () => {
    const image = fixtureImage('jpeg-56x56');
    const form = new FormData();
    form.append('image', new Blob([image.bytes], { type: 'image/jpeg' }), 'photo.jpg');
    form.append('label', 'square');
    const res = await post(form, { authorization: `Bearer ${TOKEN}` });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ label: 'square', duplicate: false });
    const stored = (await listFeedback(store(), MODEL)).find((r) => r.label === 'square');
    expect(stored?.image).toMatchObject({
      format: 'jpeg',
      width: 56,
      height: 56,
      size: image.bytes.byteLength,
    });
  });

  it('rejects unknown labels (400) unless the policy allows new classes', async () => {
    const image = fixtureImage('png-grey-40');
    const res = await postJson({ image: image.base64, label: 'triangle' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(
      /unknown label "triangle"/,
    );
    await updatePolicy(store(), MODEL, { allowNewClasses: true, minNewSamples: 3 });
    const allowed = await postJson({ image: image.base64, label: 'triangle' });
    expect(allowed.status).toBe(201);
    expect(await allowed.json()).toMatchObject({ knownLabel: false });
  });

  it('validates the image and the request: 415 non-image, 413 oversized header, 400 bad base64, 404 unknown model', async () => {
    // BMP is recognised but not decoded at the edge (GIF, WebP and JPEG/PNG are).
    const bmp = btoa('BM\x3a\x00\x00\x00\x00\x00\x00\x00');
    const notImage = await postJson({ image: bmp, label: 'circle' });
    expect([notImage.status, await errorCode(notImage)]).toEqual([415, 'unsupported_media_type']);
    const huge = btoa(String.fromCharCode(...hugePngHeader()));
    const tooBig = await postJson({ image: huge, label: 'circle' });
    expect([tooBig.status, await errorCode(tooBig)]).toEqual([413, 'image_too_large']);
    expect((await postJson({ image: '***', label: 'circle' })).status).toBe(400);
    expect((await postJson({ image: fixtureImage('png-grey-40').base64 })).status).toBe(400);
    expect(
      (await postJson({ image: fixtureImage('png-grey-40').base64, label: 'circle' }, TOKEN, 'no-such-model'))
        .status,
    ).toBe(404);
    const text = await post('hello', { authorization: `Bearer ${TOKEN}`, 'content-type': 'text/plain' });
    expect(text.status).toBe(415);
  });
});

describe('trusted feedback (REVIEWER_TOKEN)', () => {
  const REVIEWED = 'fb-reviewed';
  beforeAll(async () => {
    expect(await publishFixtures(REVIEWED, 1)).toEqual(['v1']);
  });

  it('the reviewer token stores trusted labels, the feedback token untrusted; a reviewer confirming a pair upgrades it', async () => {
    const image = fixtureImage('png-rgb-32x32');
    const sent = await postJson({ image: image.base64, label: 'circle' }, TOKEN, REVIEWED);
    expect(sent.status).toBe(201);
    expect(await sent.json()).toMatchObject({ label: 'circle', trusted: false });
    const reviewed = await postJson(
      { image: image.base64, label: 'square' },
      'test-reviewer-token',
      REVIEWED,
    );
    expect(reviewed.status).toBe(201);
    expect(await reviewed.json()).toMatchObject({ label: 'square', trusted: true });
    const confirmed = await postJson(
      { image: image.base64, label: 'circle' },
      'test-reviewer-token',
      REVIEWED,
    );
    expect(confirmed.status).toBe(200);
    expect(await confirmed.json()).toMatchObject({ label: 'circle', trusted: true, duplicate: true });
    const records = await listFeedback(store(), REVIEWED);
    expect(records.map((r) => [r.label, r.trusted]).sort()).toEqual([
      ['circle', true],
      ['square', true],
    ]);
    // A wrong token is still refused.
    expect(
      (await postJson({ image: image.base64, label: 'circle' }, 'test-reviewer-tokenX', REVIEWED)).status,
    ).toBe(401);
  });
});

describe('scheduled handler (retraining cron)', () => {
  it('creates exactly one pending job when due, and stays idempotent on later ticks', async () => {
    // Three accepted samples (circle, square, triangle) since v1 and minNewSamples = 3.
    const first = await runScheduled(env);
    const mine = first.find((r) => r.model === MODEL)!;
    expect(mine.check).toMatchObject({ due: true, newSamples: 3, newestVersion: 'v1' });
    expect(mine.job?.created).toBe(true);
    // The exported handler, driven like the runtime's cron would.
    const waited: Promise<unknown>[] = [];
    const ctx = {
      waitUntil: (p: Promise<unknown>) => waited.push(p),
      passThroughOnException: () => {},
      props: {},
    };
    const controller = { scheduledTime: Date.now(), cron: '*/15 * * * *', noRetry: () => {} };
    await scheduled(controller, env, ctx as unknown as ExecutionContext);
    expect(waited).toHaveLength(1);
    const ticked = (await waited[0]) as Awaited<ReturnType<typeof runScheduled>>;
    expect(ticked.find((r) => r.model === MODEL)?.job).toEqual({ id: mine.job!.id, created: false });
    const second = await runScheduled(env);
    expect(second.find((r) => r.model === MODEL)?.job).toEqual({ id: mine.job!.id, created: false });
    const pending = (await listJobs(store(), 'pending')).filter((j) => j.model === MODEL);
    expect(pending.map((j) => j.id)).toEqual([mine.job!.id]);
    expect(pending[0]!.trigger).toMatchObject({ newSamples: 3, newestVersion: 'v1' });
  });
});

describe('job ledger on R2 (conditional writes through the binding)', () => {
  it('one job per model, one claimer, heartbeats by ETag, re-claim only after the lease', async () => {
    const created = await Promise.all(
      Array.from({ length: 6 }, (_, i) => createJob(store(), { model: 'r2-ledger', reason: `tick ${i}` })),
    );
    expect(created.filter((c) => c.created)).toHaveLength(1);
    const id = created[0]!.job.id;
    expect(new Set(created.map((c) => c.job.id))).toEqual(new Set([id]));
    let now = new Date('2026-06-01T00:00:00Z');
    const clock = { now: () => now };
    const leases = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        claimJob(store(), id, { worker: `w${i}`, leaseSeconds: 30, ...clock }),
      ),
    );
    const won = leases.filter((l) => l !== null);
    expect(won).toHaveLength(1);
    const beat = await heartbeat(store(), won[0]!, { leaseSeconds: 30, ...clock });
    await expect(heartbeat(store(), won[0]!, { leaseSeconds: 30, ...clock })).rejects.toMatchObject({
      code: 'conflict',
    });
    expect(await reclaimJob(store(), id, { worker: 'late', leaseSeconds: 30, ...clock })).toBeNull();
    now = new Date(now.getTime() + 31_000);
    const taken = await Promise.all(
      [1, 2, 3].map((i) => reclaimJob(store(), id, { worker: `r${i}`, leaseSeconds: 30, ...clock })),
    );
    const owner = taken.filter((l) => l !== null);
    expect(owner).toHaveLength(1);
    await expect(heartbeat(store(), beat, { leaseSeconds: 30, ...clock })).rejects.toMatchObject({
      code: 'conflict',
    });
    await finishJob(store(), owner[0]!, { state: 'done', outcome: null, decision: null }, clock);
    expect((await listJobs(store(), 'done')).map((j) => j.id)).toContain(id);
    expect((await listJobs(store(), 'running')).map((j) => j.id)).not.toContain(id);
  });
});

describe('the Worker entry', () => {
  it('mounts the feedback route and the scheduled handler', async () => {
    const res = await callViaEntry(`/v1/models/${MODEL}/feedback`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(401);
    expect(worker.scheduled).toBe(scheduled);
  });
});
