/**
 * Uploads as real clients send them, inside workerd: every accepted form gives the same answer as
 * the plain PNG body, and every refusal is a 4xx JSON that says what was received and what is
 * accepted, after which the isolate keeps answering.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../../functions/runtime/config.ts';
import { call, callWithVars, fixtureImage, publishFixtures } from './fixtures.ts';

const MODEL = 'uploads';
const classify = `/v1/models/${MODEL}/classify?top_k=4`;
const PNG_ID = 'png-rgb-48x40';
const JPEG_ID = 'jpeg-56x56';
const enc = new TextEncoder();

type Prediction = { label: string; score: number };
interface Answer {
  version?: string;
  predictions?: Prediction[];
  results?: { predictions: Prediction[] }[];
  error?: { code: string; message: string };
}

const raw = (type: string | null, body: BodyInit): RequestInit => ({
  method: 'POST',
  headers: type === null ? {} : { 'content-type': type },
  body,
});

function form(...parts: [string, Blob | string, string?][]): RequestInit {
  const f = new FormData();
  for (const [name, value, filename] of parts) {
    if (typeof value === 'string') f.append(name, value);
    else f.append(name, value, filename ?? 'upload');
  }
  return { method: 'POST', body: f };
}

const blob = (bytes: Uint8Array, type = '') => new Blob([bytes.slice()], { type });

/** A HEIF still's first box as an iPhone writes it (ftyp, major brand heic). */
function ftyp(brand: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(enc.encode(`\0\0\0\x18ftyp${brand}\0\0\0\0mif1${brand}`));
}

async function answer(res: Response): Promise<Answer> {
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  return (await res.json()) as Answer;
}

describe('uploads in every form clients send', () => {
  let png: Answer;
  let jpeg: Answer;

  beforeAll(async () => {
    await publishFixtures(MODEL, 1);
    png = await answer(await call(classify, raw('image/png', fixtureImage(PNG_ID).bytes)));
    jpeg = await answer(await call(classify, raw('image/jpeg', fixtureImage(JPEG_ID).bytes)));
    expect(png.predictions).toHaveLength(4);
    expect(jpeg.predictions).toHaveLength(4);
  });

  it("accepts raw bodies with any image type, octet-stream, curl's form type or none", async () => {
    const bytes = fixtureImage(PNG_ID).bytes;
    for (const type of [
      null,
      'application/octet-stream',
      'application/x-www-form-urlencoded',
      'image/png; charset=binary',
      'IMAGE/PNG',
      'image/x-unknown-but-image',
    ]) {
      const res = await call(classify, raw(type, bytes));
      const body = await answer(res);
      expect(res.status, `${type}: ${JSON.stringify(body)}`).toBe(200);
      expect(body.predictions, String(type)).toEqual(png.predictions);
    }
    const res = await call(classify, raw('image/jpg', fixtureImage(JPEG_ID).bytes));
    expect((await answer(res)).predictions).toEqual(jpeg.predictions);
  });

  it('accepts multipart/form-data: "image", "file", any single file part, text data URLs, batches', async () => {
    const p = fixtureImage(PNG_ID);
    const j = fixtureImage(JPEG_ID);
    const single: [string, RequestInit][] = [
      ['image part', form(['image', blob(p.bytes, 'image/png'), 'cat.png'])],
      ['file part, no type', form(['file', blob(p.bytes), 'cat.png'])],
      ['file part, octet-stream (curl -F)', form(['file', blob(p.bytes, 'application/octet-stream')])],
      ['other name, beside text fields', form(['note', 'hello'], ['photo', blob(p.bytes, 'image/png')])],
      ['image as data URL text', form(['image', `data:image/png;base64,${p.base64}`])],
    ];
    for (const [what, init] of single) {
      const res = await call(classify, init);
      const body = await answer(res);
      expect(res.status, `${what}: ${JSON.stringify(body)}`).toBe(200);
      expect(body.predictions, what).toEqual(png.predictions);
    }
    const batch = await call(
      classify,
      form(['image', blob(p.bytes, 'image/png')], ['image', blob(j.bytes, 'image/jpeg')]),
    );
    const body = await answer(batch);
    expect(batch.status, JSON.stringify(body)).toBe(200);
    expect(body.results?.map((r) => r.predictions)).toEqual([png.predictions, jpeg.predictions]);
  });

  it('accepts JSON base64 and data URLs as before', async () => {
    const p = fixtureImage(PNG_ID);
    for (const image of [p.base64, `data:image/png;base64,${p.base64}`]) {
      const res = await call(classify, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ image }),
      });
      expect((await answer(res)).predictions).toEqual(png.predictions);
    }
  });

  it('refuses every bad upload with a 4xx JSON naming what came and what is accepted', async () => {
    const p = fixtureImage(PNG_ID);
    const j = fixtureImage(JPEG_ID);
    const limit = readConfig(env).maxBodyBytes;
    const cases: { name: string; init: RequestInit; status: number; code: string; message: RegExp }[] = [
      {
        name: 'HEIC',
        init: raw('image/heic', ftyp('heic')),
        status: 415,
        code: 'unsupported_media_type',
        message: /HEIC.*send JPEG/,
      },
      {
        name: 'HEIC without a type',
        init: raw(null, ftyp('heic')),
        status: 415,
        code: 'unsupported_media_type',
        message: /HEIC.*send JPEG/,
      },
      {
        name: 'AVIF',
        init: raw('image/avif', ftyp('avif')),
        status: 415,
        code: 'unsupported_media_type',
        message: /AVIF.*send JPEG/,
      },
      {
        name: 'text/plain',
        init: raw('text/plain', p.bytes),
        status: 415,
        code: 'unsupported_media_type',
        message: /"text\/plain".*multipart\/form-data/,
      },
      {
        name: 'declared PNG, bytes JPEG',
        init: raw('image/png', j.bytes),
        status: 400,
        code: 'invalid_image',
        message: /image\/png but the bytes are JPEG/,
      },
      {
        name: 'multipart without a file part',
        init: form(['label', 'cat'], ['note', 'x']),
        status: 400,
        code: 'bad_request',
        message: /no image.*"image" or "file".*"label", "note"/,
      },
      {
        name: 'multipart with an empty file part (no file chosen)',
        init: form(['image', blob(new Uint8Array(0), 'application/octet-stream'), '']),
        status: 400,
        code: 'invalid_image',
        message: /part "image" is empty/,
      },
      {
        name: 'multipart part labelled image/jpeg holding PNG',
        init: form(['image', blob(p.bytes, 'image/jpeg')]),
        status: 400,
        code: 'invalid_image',
        message: /part "image": content-type says image\/jpeg but the bytes are PNG/,
      },
      {
        name: 'multipart text file as the image',
        init: form(['file', blob(enc.encode('just text'), 'text/plain'), 'notes.txt']),
        status: 415,
        code: 'unsupported_media_type',
        message: /unrecognised image data/,
      },
      {
        name: 'multipart with more parts than MAX_BATCH',
        init: form(...new Array(17).fill(0).map((): [string, Blob] => ['image', blob(p.bytes, 'image/png')])),
        status: 400,
        code: 'bad_request',
        message: /17 images; at most 16/,
      },
      {
        name: 'multipart without a boundary',
        init: raw('multipart/form-data', 'garbage'),
        status: 400,
        code: 'bad_request',
        message: /malformed multipart/,
      },
      {
        name: 'body over MAX_BODY_BYTES (Content-Length)',
        init: raw('image/jpeg', new Uint8Array(limit + 10)),
        status: 413,
        code: 'payload_too_large',
        message: new RegExp(
          `request body is ${limit + 10} bytes.*the limit is ${limit} bytes.*MAX_BODY_BYTES`,
        ),
      },
    ];
    for (const c of cases) {
      const res = await call(classify, c.init);
      const body = await answer(res);
      expect(res.status, `${c.name}: ${JSON.stringify(body)}`).toBe(c.status);
      expect(body.error?.code, c.name).toBe(c.code);
      expect(body.error?.message, c.name).toMatch(c.message);
      const after = await call(classify, raw('image/png', p.bytes));
      expect(after.status, `valid request after "${c.name}"`).toBe(200);
    }
  });

  it('admits a 25 MB body (a 48 MP q90 phone JPEG) past the default body limit', async () => {
    // The fixture JPEG with its frame header claiming 8000×6000, padded after EOI to 25 MB: the
    // body limit lets it through, so whatever answers is about the image, not the body size.
    const jpeg = fixtureImage(JPEG_ID).bytes;
    const body = new Uint8Array(25_000_000);
    body.set(jpeg);
    const sof = body.findIndex((_, i) => body[i] === 0xff && body[i + 1] === 0xc0);
    new DataView(body.buffer).setUint16(sof + 5, 6000);
    new DataView(body.buffer).setUint16(sof + 7, 8000);
    expect(readConfig(env).maxBodyBytes).toBeGreaterThanOrEqual(25_000_000);
    const res = await call(classify, raw('image/jpeg', body));
    const b = await answer(res);
    expect(b.error?.code, JSON.stringify(b)).not.toBe('payload_too_large');
    expect(b.error?.message ?? '').not.toMatch(/MAX_BODY_BYTES/);
  });

  it('refuses a multipart part over the limit, streamed or declared, with both sizes named', async () => {
    const p = fixtureImage(PNG_ID);
    const vars = { MAX_BODY_BYTES: '65536' };
    const big = new Uint8Array(200_000);
    big.set(p.bytes);
    // A FormData body has no Content-Length here: the limit is found while counting the stream.
    const streamed = await callWithVars(vars, classify, form(['image', blob(big, 'image/png')]));
    const s = await answer(streamed);
    expect(streamed.status, JSON.stringify(s)).toBe(413);
    expect(s.error?.message).toMatch(
      /request body is \d+ bytes .*sent without Content-Length\); the limit is 65536 bytes/,
    );
    // The same body with its length declared is refused before it is read.
    const request = new Request('http://x/', form(['image', blob(big, 'image/png')]));
    const bytes = new Uint8Array(await request.arrayBuffer());
    const declared = await callWithVars(vars, classify, {
      method: 'POST',
      headers: {
        'content-type': request.headers.get('content-type')!,
        'content-length': String(bytes.length),
      },
      body: bytes,
    });
    const d = await answer(declared);
    expect(declared.status, JSON.stringify(d)).toBe(413);
    expect(d.error?.message).toContain(`request body is ${bytes.length} bytes`);
    expect((await callWithVars(vars, classify, raw('image/png', p.bytes))).status).toBe(200);
  });
});
