/**
 * A cold request decodes its image while the model files are read (functions/http/early-inputs.ts,
 * started from Server.serve's beforeLoad): the answer is the one the warm path gives, bit for bit,
 * and every error keeps its status and code — an undecodable upload is still a 400/413 after the
 * session loaded, a damaged model file still refuses the version before any image matters.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { ModelCache } from '../../functions/runtime/models.ts';
import { Server } from '../../functions/runtime/serve.ts';
import { ENGINE_ONLY } from '../../functions/runtime/backends.ts';
import { registrySource } from '../../functions/runtime/services.ts';
import type { ModelManifest } from '../../shared/manifest/manifest.ts';
import { call, fixtureImage, publishFixtures, store } from './fixtures.ts';

const MODEL = 'early-decode';
const TOKEN = 'test-admin-token';
const PNG = () => fixtureImage('png-rgb-48x40').bytes;
const JPEG = () => fixtureImage('jpeg-56x56').bytes;

/** A fresh version of the first fixture export: no isolate has its session yet. */
async function freshVersion(): Promise<string> {
  return (await publishFixtures(MODEL, 1))[0]!;
}

function classify(version: string, contentType: string, body: Uint8Array<ArrayBuffer>) {
  return call(`/v1/models/${MODEL}/versions/${version}/classify?top_k=10`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body,
  });
}

async function resident(version: string): Promise<boolean> {
  const res = await call('/admin/cache', { headers: { authorization: `Bearer ${TOKEN}` } });
  const { sessions } = (await res.json()) as { sessions: { key: string }[] };
  return sessions.some((s) => s.key === `${MODEL}@${version}`);
}

/** The JPEG with its entropy-coded data scrambled (headers intact: it fails inside the decoder). */
function jpegGarbage(): Uint8Array<ArrayBuffer> {
  const b = JPEG().slice();
  const sos = b.findIndex((_, i) => b[i] === 0xff && b[i + 1] === 0xda);
  for (let i = sos + 20; i < b.length - 2; i++) b[i] = (i * 37) & 0xff;
  return b;
}

/** The PNG with its IHDR claiming 30000 × 30000 (CRC fixed): refused by the size limits. */
function pngTooLarge(): Uint8Array<ArrayBuffer> {
  const b = PNG().slice();
  const v = new DataView(b.buffer);
  v.setUint32(16, 30_000);
  v.setUint32(20, 30_000);
  let c = ~0;
  for (const x of b.subarray(12, 29)) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  v.setUint32(29, ~c >>> 0);
  return b;
}

describe('decoding a cold request image while its model loads', () => {
  let warm: string;
  beforeAll(async () => {
    warm = await freshVersion();
    expect((await classify(warm, 'image/png', PNG())).status).toBe(200);
  });

  it('answers a cold request exactly as a warm one, for PNG and JPEG', async () => {
    for (const [type, bytes] of [
      ['image/png', PNG()],
      ['image/jpeg', JPEG()],
    ] as const) {
      const cold = await freshVersion();
      expect(await resident(cold), cold).toBe(false);
      const first = await classify(cold, type, bytes);
      expect(first.status, type).toBe(200);
      const again = await classify(cold, type, bytes);
      const onWarm = await classify(warm, type, bytes);
      const firstBody = (await first.json()) as { predictions: unknown };
      expect((await again.json()) as { predictions: unknown }, type).toMatchObject({
        predictions: firstBody.predictions,
      });
      expect((await onWarm.json()) as { predictions: unknown }, type).toMatchObject({
        predictions: firstBody.predictions,
      });
    }
  });

  it('keeps the status and code of an upload that cannot be decoded, and the session it loaded', async () => {
    const cases = [
      {
        name: 'scrambled JPEG',
        type: 'image/jpeg',
        bytes: jpegGarbage(),
        status: 400,
        code: 'invalid_image',
      },
      {
        name: 'PNG claiming 30000²',
        type: 'image/png',
        bytes: pngTooLarge(),
        status: 413,
        code: 'image_too_large',
      },
    ];
    for (const c of cases) {
      const cold = await freshVersion();
      const res = await classify(cold, c.type, c.bytes);
      expect(res.status, c.name).toBe(c.status);
      expect(((await res.json()) as { error: { code: string } }).error.code, c.name).toBe(c.code);
      // The model was loaded all the same, as when the decode came after it.
      expect(await resident(cold), c.name).toBe(true);
      expect((await classify(cold, 'image/png', PNG())).status, c.name).toBe(200);
    }
  });

  it('refuses a version with a damaged model file whatever the image', async () => {
    const cold = await freshVersion();
    const key = `models/${MODEL}/versions/${cold}/model.onnx`;
    const bytes = new Uint8Array(await (await env.MODELS.get(key))!.arrayBuffer());
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    await env.MODELS.put(key, bytes);
    for (const [type, body] of [
      ['image/png', PNG()],
      ['image/jpeg', jpegGarbage()],
    ] as const) {
      const res = await classify(cold, type, body);
      expect(res.status).toBe(500);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('checksum_mismatch');
    }
  });

  it('tells beforeLoad about a version only while its session is not resident nor refused', async () => {
    // A cache of its own: nothing is resident in it yet.
    const cache = new ModelCache({
      source: registrySource(store()),
      budgetBytes: 64 * 2 ** 20,
      routingTtlMs: 60_000,
      backends: ENGINE_ONLY,
    });
    const server = new Server(cache);
    const cold = await freshVersion();
    const seen: string[] = [];
    const beforeLoad = (m: ModelManifest) => {
      seen.push(m.version ?? '');
    };
    const run = async () => 'ran';
    expect((await server.serve({ name: MODEL, explicit: cold, beforeLoad }, run)).result).toBe('ran');
    expect(seen).toEqual([cold]);
    await server.serve({ name: MODEL, explicit: cold, beforeLoad }, run);
    expect(seen).toEqual([cold]);
    // Routed requests (to the stable version here) the same way.
    const routed = (await server.serve({ name: MODEL, beforeLoad }, run)).version;
    expect(routed).not.toBe(cold);
    expect(seen).toEqual([cold, routed]);
    await server.serve({ name: MODEL, beforeLoad }, run);
    expect(seen).toEqual([cold, routed]);
    // A version whose model file is damaged is announced once; refused after that, it fails
    // before any file is read, so nothing is started for it.
    const broken = await freshVersion();
    const key = `models/${MODEL}/versions/${broken}/model.onnx`;
    const bytes = new Uint8Array(await (await env.MODELS.get(key))!.arrayBuffer());
    bytes[0] = bytes[0]! ^ 0xff;
    await env.MODELS.put(key, bytes);
    for (let i = 0; i < 2; i++) {
      await expect(server.serve({ name: MODEL, explicit: broken, beforeLoad }, run)).rejects.toMatchObject({
        code: 'checksum_mismatch',
      });
    }
    expect(seen).toEqual([cold, routed, broken]);
  });
});
