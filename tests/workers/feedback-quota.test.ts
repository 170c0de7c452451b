/**
 * Feedback quotas from the retrain policy, inside workerd over the R2 binding: per-model sample and
 * byte quotas (429) and the per-request size (413), with nothing stored by a refused request.
 */
import { describe, expect, it } from 'vitest';
import { listFeedback } from '../../shared/feedback/store.ts';
import { updatePolicy } from '../../shared/jobs/policy.ts';
import { callViaEntry, fixtureImage, publishFixtures, store } from './fixtures.ts';

const TOKEN = 'test-feedback-token';

function post(model: string, body: unknown): Promise<Response> {
  return callViaEntry(`/v1/models/${model}/feedback`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify(body),
  });
}

async function error(res: Response): Promise<{ code: string; message: string }> {
  return ((await res.json()) as { error: { code: string; message: string } }).error;
}

/** Everything stored under the model's feedback prefix (records, images and index markers). */
async function storedKeys(model: string): Promise<string[]> {
  return (await store().list(`datasets/${model}/feedback/`)).objects.map((o) => o.key).sort();
}

describe('feedback quotas (retrain policy)', () => {
  it('429 once maxFeedbackSamples are stored; duplicates still answer; nothing else stored', async () => {
    const model = 'quota-count';
    await publishFixtures(model, 1);
    await updatePolicy(store(), model, { maxFeedbackSamples: 2 });
    const a = fixtureImage('png-rgb-32x32').base64;
    const b = fixtureImage('jpeg-56x56').base64;
    const c = fixtureImage('png-rgb-48x40').base64;
    expect((await post(model, { image: a, label: 'circle' })).status).toBe(201);
    expect((await post(model, { image: b, label: 'square' })).status).toBe(201);
    const before = await storedKeys(model);
    const over = await post(model, { image: c, label: 'noise' });
    expect(over.status).toBe(429);
    const e = await error(over);
    expect(e.code).toBe('quota_exceeded');
    expect(e.message).toMatch(/2 samples stored, the policy allows 2 \(maxFeedbackSamples\)/);
    expect(await storedKeys(model)).toEqual(before);
    // The same pair again stores nothing, so it is answered as a duplicate even at the quota.
    expect((await post(model, { image: a, label: 'circle' })).status).toBe(200);
    // Raising the quota lets the sample in.
    await updatePolicy(store(), model, { maxFeedbackSamples: 3 });
    expect((await post(model, { image: c, label: 'noise' })).status).toBe(201);
    expect(await listFeedback(store(), model)).toHaveLength(3);
  });

  it('429 once maxFeedbackBytes of images are stored; a new label for a stored image costs no bytes', async () => {
    const model = 'quota-bytes';
    await publishFixtures(model, 1);
    const a = fixtureImage('png-rgb-32x32');
    const big = fixtureImage('png-rgb-320x240');
    await updatePolicy(store(), model, { maxFeedbackSamples: null, maxFeedbackBytes: a.bytes.length + 100 });
    expect((await post(model, { image: a.base64, label: 'circle' })).status).toBe(201);
    const before = await storedKeys(model);
    const over = await post(model, { image: big.base64, label: 'square' });
    expect(over.status).toBe(429);
    const e = await error(over);
    expect(e.code).toBe('quota_exceeded');
    expect(e.message).toContain(
      `${a.bytes.length} bytes stored + ${big.bytes.length} bytes received > ${a.bytes.length + 100} bytes allowed (maxFeedbackBytes)`,
    );
    expect(await storedKeys(model)).toEqual(before);
    expect((await post(model, { image: a.base64, label: 'stripes' })).status).toBe(201);
    const images = await store().list(`datasets/${model}/feedback/images/`);
    expect(images.objects.map((o) => o.size)).toEqual([a.bytes.length]);
  });

  it('413 for a request over maxFeedbackRequestBytes, naming both sizes; nothing stored', async () => {
    const model = 'quota-request';
    await publishFixtures(model, 1);
    await updatePolicy(store(), model, { maxFeedbackRequestBytes: 4096 });
    const small = fixtureImage('png-rgb-32x32');
    const big = fixtureImage('png-rgb-320x240');
    const body = JSON.stringify({ image: big.base64, label: 'circle' });
    expect(body.length).toBeGreaterThan(4096);
    const res = await post(model, { image: big.base64, label: 'circle' });
    expect(res.status).toBe(413);
    const e = await error(res);
    expect(e.code).toBe('payload_too_large');
    expect(e.message).toMatch(
      new RegExp(`request body is ${body.length} bytes .*the limit is 4096 bytes .*maxFeedbackRequestBytes`),
    );
    expect(await storedKeys(model)).toEqual([]);
    // Multipart is bounded the same way.
    const form = new FormData();
    form.append('image', new Blob([big.bytes], { type: 'image/png' }), 'big.png');
    form.append('label', 'circle');
    const multipart = await callViaEntry(`/v1/models/${model}/feedback`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
      body: form,
    });
    expect(multipart.status).toBe(413);
    expect((await error(multipart)).message).toMatch(/the limit is 4096 bytes/);
    expect(await storedKeys(model)).toEqual([]);
    expect(small.base64.length).toBeLessThan(4000);
    expect((await post(model, { image: small.base64, label: 'circle' })).status).toBe(201);
  });

  it('refused feedback uploads (no file part, HEIC, mislabelled, over MAX_BODY_BYTES) store nothing', async () => {
    const model = 'quota-refused';
    await publishFixtures(model, 1);
    const png = fixtureImage('png-rgb-32x32').bytes;
    const send = (parts: [string, Blob | string][], headers: Record<string, string> = {}) => {
      const form = new FormData();
      for (const [k, v] of parts) form.append(k, v);
      return callViaEntry(`/v1/models/${model}/feedback`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, ...headers },
        body: form,
      });
    };
    const heic = new TextEncoder().encode('\0\0\0\x18ftypheic\0\0\0\0mif1heic');
    const refusals: [string, Promise<Response>, number][] = [
      ['no file part', send([['label', 'circle']]), 400],
      [
        'HEIC',
        send([
          ['image', new Blob([heic], { type: 'image/heic' })],
          ['label', 'circle'],
        ]),
        415,
      ],
      [
        'mislabelled',
        send([
          ['image', new Blob([png], { type: 'image/jpeg' })],
          ['label', 'circle'],
        ]),
        400,
      ],
      [
        'over MAX_BODY_BYTES',
        callViaEntry(`/v1/models/${model}/feedback`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
          body: new Uint8Array(32 * 1024 * 1024 + 1),
        }),
        413,
      ],
    ];
    for (const [what, pending, status] of refusals) {
      const res = await pending;
      expect(res.status, `${what}: ${JSON.stringify(await res.clone().json())}`).toBe(status);
      expect(typeof (await error(res)).message, what).toBe('string');
    }
    expect(await storedKeys(model)).toEqual([]);
  });
});
