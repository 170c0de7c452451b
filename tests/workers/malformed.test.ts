import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../../functions/runtime/config.ts';
import { call, fixtureImage, publishFixtures } from './fixtures.ts';

const MODEL = 'robust';
const PNG = () => fixtureImage('png-rgb-48x40').bytes;
const JPEG = () => fixtureImage('jpeg-56x56').bytes;
const B64 = () => fixtureImage('png-rgb-48x40').base64;
const enc = new TextEncoder();

function crc32(bytes: Uint8Array): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/** The PNG with its IHDR claiming width × height (CRC fixed, so only the size is wrong). */
function pngClaiming(width: number, height: number): Uint8Array<ArrayBuffer> {
  const b = PNG().slice();
  const v = new DataView(b.buffer);
  v.setUint32(16, width);
  v.setUint32(20, height);
  v.setUint32(29, crc32(b.subarray(12, 29)));
  return b;
}

/** The JPEG with its frame header (SOF0) claiming width × height. */
function jpegClaiming(width: number, height: number): Uint8Array<ArrayBuffer> {
  const b = JPEG().slice();
  for (let i = 2; i < b.length - 9; i++) {
    if (b[i] === 0xff && b[i + 1] === 0xc0) {
      new DataView(b.buffer).setUint16(i + 5, height);
      new DataView(b.buffer).setUint16(i + 7, width);
      return b;
    }
  }
  throw new Error('no SOF0 in fixture JPEG');
}

function corruptPngData(): Uint8Array<ArrayBuffer> {
  const b = PNG().slice();
  const idat = b.findIndex(
    (_, i) => b[i] === 0x49 && b[i + 1] === 0x44 && b[i + 2] === 0x41 && b[i + 3] === 0x54,
  );
  for (let i = idat + 6; i < idat + 40; i++) b[i] = b[i]! ^ 0x5a;
  return b;
}

function jpegGarbage(): Uint8Array<ArrayBuffer> {
  const b = JPEG().slice();
  // Keep SOI + headers, scramble the entropy-coded data after the scan header.
  const sos = b.findIndex((_, i) => b[i] === 0xff && b[i + 1] === 0xda);
  for (let i = sos + 20; i < b.length - 2; i++) b[i] = (i * 37) & 0xff;
  return b;
}

interface Case {
  name: string;
  path: string;
  init: RequestInit;
  status: number;
  code?: string;
}

const raw = (type: string | null, body: BodyInit | null): RequestInit => ({
  method: 'POST',
  headers: type ? { 'content-type': type } : {},
  body,
});
const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...headers },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});
const classify = `/v1/models/${MODEL}/classify`;
const infer = `/v2/models/${MODEL}/infer`;
const zeros = (n: number) => new Array(n).fill(0);
const tensor = (over: Record<string, unknown> = {}) => ({
  inputs: [{ name: 'image', shape: [1, 3, 32, 32], datatype: 'FP32', data: zeros(3072), ...over }],
});

function cases(): Case[] {
  const png = PNG();
  const jpg = JPEG();
  return [
    { name: 'empty PNG body', path: classify, init: raw('image/png', new Uint8Array(0)), status: 400 },
    { name: 'PNG cut to 20 bytes', path: classify, init: raw('image/png', png.slice(0, 20)), status: 400 },
    {
      name: 'PNG cut in half',
      path: classify,
      init: raw('image/png', png.slice(0, png.length >> 1)),
      status: 400,
    },
    {
      name: 'PNG with corrupt pixel data',
      path: classify,
      init: raw('image/png', corruptPngData()),
      status: 400,
    },
    {
      name: 'PNG declaring 100000×100000',
      path: classify,
      init: raw('image/png', pngClaiming(100_000, 100_000)),
      status: 413,
      code: 'image_too_large',
    },
    {
      name: 'PNG declaring 5000×5000',
      path: classify,
      init: raw('image/png', pngClaiming(5000, 5000)),
      status: 413,
      code: 'image_too_large',
    },
    { name: 'PNG declaring 0×10', path: classify, init: raw('image/png', pngClaiming(0, 10)), status: 400 },
    {
      name: 'JPEG cut in half',
      path: classify,
      init: raw('image/jpeg', jpg.slice(0, jpg.length >> 1)),
      status: 400,
    },
    { name: 'JPEG cut after SOI', path: classify, init: raw('image/jpeg', jpg.slice(0, 3)), status: 400 },
    {
      name: 'JPEG with scrambled scan data',
      path: classify,
      init: raw('image/jpeg', jpegGarbage()),
      status: 400,
    },
    {
      name: 'JPEG declaring 65000×65000',
      path: classify,
      init: raw('image/jpeg', jpegClaiming(65000, 65000)),
      status: 413,
      code: 'image_too_large',
    },
    {
      name: 'BMP bytes as image/png',
      path: classify,
      init: raw('image/png', enc.encode('BM\x3a\x00\x00\x00\x00\x00\x00\x00')),
      status: 415,
    },
    {
      // GIF is a decodable format now: a mislabelled one is a 400 like JPEG bytes labelled PNG.
      name: 'GIF bytes as image/png',
      path: classify,
      init: raw('image/png', enc.encode('GIF89a\x01\x00\x01\x00')),
      status: 400,
    },
    { name: 'content-type text/plain', path: classify, init: raw('text/plain', 'hello'), status: 415 },
    { name: 'no content-type, text bytes', path: classify, init: raw(null, 'hello'), status: 415 },
    { name: 'PNG bytes labelled image/gif', path: classify, init: raw('image/gif', png), status: 400 },
    { name: 'JPEG bytes labelled image/png', path: classify, init: raw('image/png', jpg), status: 400 },
    {
      name: 'body over MAX_BODY_BYTES',
      path: classify,
      init: raw('image/png', new Uint8Array(readConfig(env).maxBodyBytes + 1)),
      status: 413,
      code: 'payload_too_large',
    },
    { name: 'JSON cut short', path: classify, init: json('{"image": "abc'), status: 400 },
    { name: 'empty JSON body', path: classify, init: json(''), status: 400 },
    { name: 'JSON array', path: classify, init: json([B64()]), status: 400 },
    { name: 'image is a number', path: classify, init: json({ image: 123 }), status: 400 },
    { name: 'image is not base64', path: classify, init: json({ image: '!!!not base64!!!' }), status: 400 },
    {
      name: 'base64 of text, not an image',
      path: classify,
      init: json({ image: btoa('just some text') }),
      status: 415,
    },
    {
      name: 'both image and images',
      path: classify,
      init: json({ image: B64(), images: [B64()] }),
      status: 400,
    },
    { name: 'images empty', path: classify, init: json({ images: [] }), status: 400 },
    {
      name: 'batch over the limit',
      path: classify,
      init: json({ images: new Array(17).fill(B64()) }),
      status: 400,
    },
    { name: 'unknown JSON field', path: classify, init: json({ image: B64(), extra: 1 }), status: 400 },
    {
      name: 'data URL without base64',
      path: classify,
      init: json({ image: 'data:image/png,abc' }),
      status: 400,
    },
    {
      name: 'one bad image in a batch',
      path: classify,
      init: json({ images: [B64(), btoa('nope')] }),
      status: 415,
    },
    { name: 'top_k=0', path: `${classify}?top_k=0`, init: raw('image/png', png), status: 400 },
    { name: 'top_k=abc', path: `${classify}?top_k=abc`, init: raw('image/png', png), status: 400 },
    {
      name: 'embed encoding=hex',
      path: `/v1/models/${MODEL}/embed?encoding=hex`,
      init: raw('image/png', png),
      status: 400,
    },
    {
      name: 'model name with capitals and !',
      path: '/v1/models/Bad!Name/classify',
      init: raw('image/png', png),
      status: 400,
      code: 'invalid_name',
    },
    {
      name: 'model name of 70 characters',
      path: `/v1/models/${'a'.repeat(70)}/classify`,
      init: raw('image/png', png),
      status: 400,
    },
    {
      name: 'encoded path traversal',
      path: '/v1/models/..%2F..%2Fsecrets/classify',
      init: raw('image/png', png),
      status: 400,
    },
    {
      name: 'unknown model',
      path: '/v1/models/no-such-model/classify',
      init: raw('image/png', png),
      status: 404,
    },
    {
      name: 'unknown version (header)',
      path: classify,
      init: { ...raw('image/png', png), headers: { 'content-type': 'image/png', 'x-model-version': 'v99' } },
      status: 404,
    },
    {
      name: 'unknown version (path)',
      path: `/v1/models/${MODEL}/versions/v99/classify`,
      init: raw('image/png', png),
      status: 404,
    },
    {
      name: 'bad version header',
      path: classify,
      init: {
        ...raw('image/png', png),
        headers: { 'content-type': 'image/png', 'x-model-version': '../v1' },
      },
      status: 400,
    },
    {
      name: 'path and header versions disagree',
      path: `/v1/models/${MODEL}/versions/v1/classify`,
      init: { ...raw('image/png', png), headers: { 'content-type': 'image/png', 'x-model-version': 'v2' } },
      status: 400,
    },
    {
      name: 'x-user-key over 256 characters',
      path: classify,
      init: {
        ...raw('image/png', png),
        headers: { 'content-type': 'image/png', 'x-user-key': 'k'.repeat(300) },
      },
      status: 400,
    },
    { name: 'V2: no inputs', path: infer, init: json({}), status: 400 },
    {
      name: 'V2: wrong shape',
      path: infer,
      init: json(tensor({ shape: [1, 3, 16, 16], data: zeros(768) })),
      status: 400,
      code: 'invalid_tensor',
    },
    {
      name: 'V2: datatype INT64',
      path: infer,
      init: json(tensor({ datatype: 'INT64' })),
      status: 400,
      code: 'invalid_tensor',
    },
    {
      name: 'V2: data shorter than shape',
      path: infer,
      init: json(tensor({ data: zeros(100) })),
      status: 400,
      code: 'invalid_tensor',
    },
    {
      name: 'V2: "NaN" string in data',
      path: infer,
      init: json(tensor({ data: ['NaN', ...zeros(3071)] })),
      status: 400,
      code: 'invalid_tensor',
    },
    {
      name: 'V2: 1e999 (Infinity) in data',
      path: infer,
      init: json(JSON.stringify(tensor()).replace('[0,', '[1e999,')),
      status: 400,
      code: 'invalid_tensor',
    },
    {
      name: 'V2: wrong input name',
      path: infer,
      init: json(tensor({ name: 'pixels' })),
      status: 400,
      code: 'invalid_tensor',
    },
    {
      name: 'V2: BYTES holding a number',
      path: infer,
      init: json(tensor({ datatype: 'BYTES', shape: [1], data: [5] })),
      status: 400,
    },
    {
      name: 'V2: two inputs',
      path: infer,
      init: json({ inputs: [...tensor().inputs, ...tensor().inputs] }),
      status: 400,
    },
    {
      name: 'V2: batch 17',
      path: infer,
      init: json(tensor({ shape: [17, 3, 32, 32], data: [] })),
      status: 400,
      code: 'invalid_tensor',
    },
    {
      name: 'V2: unknown output',
      path: infer,
      init: json({ ...tensor(), outputs: [{ name: 'logits' }] }),
      status: 400,
    },
    {
      name: 'V2: negative dimension',
      path: infer,
      init: json(tensor({ shape: [-1, 3, 32, 32] })),
      status: 400,
    },
    { name: 'unknown route', path: '/v1/nothing-here', init: { method: 'GET' }, status: 404 },
    { name: 'GET on a POST route', path: classify, init: { method: 'GET' }, status: 404 },
  ];
}

describe('malformed input → 4xx JSON, and the isolate keeps serving', () => {
  beforeAll(async () => {
    await publishFixtures(MODEL, 1);
  });

  it('answers every malformed request with its 4xx and an {error:{code,message}} body', async () => {
    const all = cases();
    expect(all.length).toBeGreaterThanOrEqual(30);
    const valid = () => call(classify, raw('image/png', PNG()));
    expect((await valid()).status).toBe(200);
    const seen: string[] = [];
    for (const c of all) {
      const res = await call(c.path, c.init);
      const body = (await res.json()) as { error?: { code?: unknown; message?: unknown } };
      seen.push(`${res.status} ${c.name}`);
      expect(res.status, `${c.name}: ${JSON.stringify(body)}`).toBe(c.status);
      expect(typeof body.error?.code, c.name).toBe('string');
      expect(typeof body.error?.message, c.name).toBe('string');
      if (c.code) expect(body.error!.code, c.name).toBe(c.code);
      const after = await valid();
      expect(after.status, `valid request after "${c.name}"`).toBe(200);
    }
    console.log(`${all.length} malformed cases, all 4xx JSON; each followed by a successful request`);
  });
});
