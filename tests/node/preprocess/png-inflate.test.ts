/**
 * The edge inflates PNG data with the runtime's native zlib before the synchronous decode
 * (shared/preprocess/png-inflate.ts, preprocessBytesAsync): the same tensor bits as the
 * synchronous path for every colour type, and every file that path cannot vouch for (bombs,
 * truncation, bad checksums) falls back to the synchronous reader and its exact errors.
 */
import zlib from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { isEdgetuneError } from '../../../shared/errors.ts';
import { type PreprocessSpec, PreprocessSpecSchema } from '../../../shared/manifest/preprocess.ts';
import { preprocessBytes, preprocessBytesAsync, readImageHeader } from '../../../shared/preprocess/index.ts';
import { inflatePngNative } from '../../../shared/preprocess/png-inflate.ts';
import { expectedPngDataSize } from '../../../shared/preprocess/png-raw.ts';
import { readData } from './fixtures.ts';

const spec = (resize: 'triangle' | 'bilinear', channels: 1 | 3): PreprocessSpec =>
  PreprocessSpecSchema.parse({
    width: 224,
    height: 160,
    channels,
    layout: 'NCHW',
    resize,
    mean: [0.5],
    std: [0.25],
  });

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return (
    a.length === b.length &&
    Buffer.compare(
      Buffer.from(a.buffer, a.byteOffset, a.byteLength),
      Buffer.from(b.buffer, b.byteOffset, b.byteLength),
    ) === 0
  );
}

async function outcome(f: () => Promise<unknown>): Promise<string> {
  try {
    await f();
    return 'ok';
  } catch (e) {
    return isEdgetuneError(e) ? `${e.status} ${e.code}: ${e.message}` : `raw ${String(e)}`;
  }
}

/** The concatenated IDAT data (the zlib stream) of a PNG. */
function idatOf(png: Uint8Array): Buffer {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const parts: Buffer[] = [];
  for (let o = 8; o + 12 <= png.length; ) {
    const length = view.getUint32(o);
    if (String.fromCharCode(...png.subarray(o + 4, o + 8)) === 'IDAT')
      parts.push(Buffer.from(png.subarray(o + 8, o + 8 + length)));
    o += 12 + length;
  }
  return Buffer.concat(parts);
}

/** The PNG with its IDAT chunks replaced by one chunk of `idat` (CRC computed here). */
function withIdat(png: Uint8Array, idat: Uint8Array): Uint8Array {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const parts: Uint8Array[] = [png.subarray(0, 8)];
  let wroteIdat = false;
  for (let o = 8; o + 12 <= png.length; ) {
    const length = view.getUint32(o);
    const type = String.fromCharCode(...png.subarray(o + 4, o + 8));
    if (type === 'IDAT') {
      if (!wroteIdat) parts.push(chunk('IDAT', idat));
      wroteIdat = true;
    } else {
      parts.push(png.subarray(o, o + 12 + length));
    }
    o += 12 + length;
  }
  return new Uint8Array(Buffer.concat(parts));
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  Buffer.from(data).copy(out, 8);
  let c = -1;
  for (const b of out.subarray(4, 8 + data.length)) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  out.writeUInt32BE((c ^ -1) >>> 0, 8 + data.length);
  return out;
}

describe('PNG data inflated natively at the edge', () => {
  it('gives the same tensor bits as the synchronous path for every colour type, streamed or whole', async () => {
    const photo = readData('data/photos/coffee.png');
    const base = sharp(photo).resize(640, 480, { fit: 'fill' });
    const variants: [string, Buffer][] = [
      ['rgb8', await base.clone().png().toBuffer()],
      ['rgba8', await base.clone().ensureAlpha(0.6).png().toBuffer()],
      ['grey8', await base.clone().greyscale().png().toBuffer()],
      ['rgb16', await base.clone().toColourspace('rgb16').png().toBuffer()],
      ['palette', await base.clone().png({ palette: true, colours: 64 }).toBuffer()],
      ['palette-1bit', await base.clone().greyscale().png({ palette: true, colours: 2 }).toBuffer()],
      ['adam7', await base.clone().png({ progressive: true }).toBuffer()],
    ];
    for (const [name, buffer] of variants) {
      const bytes = new Uint8Array(buffer);
      const native = await inflatePngNative(bytes, readImageHeader(bytes));
      expect(native?.length, `${name}: taken by the native path`).toBe(
        expectedPngDataSize(bytes, readImageHeader(bytes)),
      );
      for (const s of [spec('triangle', 3), spec('triangle', 1), spec('bilinear', 3)]) {
        const sync = preprocessBytes(bytes, s).data;
        const edge = (await preprocessBytesAsync(bytes, s)).data;
        expect(sameBits(edge, sync), `${name} ${s.resize} ${s.channels}`).toBe(true);
      }
    }
  }, 120_000);

  it('declines what it cannot vouch for; the synchronous reader then refuses it with its own error', async () => {
    const bytes = new Uint8Array(
      await sharp(readData('data/photos/coffee.png')).resize(64, 48).png().toBuffer(),
    );
    const header = readImageHeader(bytes);
    const raw = zlib.inflateSync(idatOf(bytes));
    const s = spec('triangle', 3);
    // A bomb: the right header, ten times the data it implies.
    const bomb = withIdat(bytes, zlib.deflateSync(Buffer.concat(Array.from({ length: 10 }, () => raw))));
    // Data missing: the stream ends early.
    const short = withIdat(bytes, zlib.deflateSync(raw.subarray(0, raw.length >> 1)));
    // A wrong Adler-32 at the end of the zlib stream (fflate does not check it; zlib does).
    const good = zlib.deflateSync(raw);
    const badAdler = new Uint8Array(good);
    badAdler[badAdler.length - 1] ^= 0xff;
    const adler = withIdat(bytes, badAdler);
    for (const [name, file] of [
      ['bomb', bomb],
      ['short', short],
      ['adler', adler],
    ] as const) {
      expect(await inflatePngNative(file, header), name).toBeUndefined();
      const sync = await outcome(async () => preprocessBytes(file, s));
      expect(await outcome(() => preprocessBytesAsync(file, s)), name).toBe(sync);
    }
    expect(await outcome(() => preprocessBytesAsync(bomb, s))).toMatch(
      /^400 invalid_image: corrupt PNG: image data inflates to more/,
    );
    expect(await outcome(() => preprocessBytesAsync(short, s))).toMatch(/^400 invalid_image: truncated PNG/);
    // The size limits are checked from the header before any inflating.
    expect(await outcome(() => preprocessBytesAsync(bytes, spec('bilinear', 3), { maxPixels: 100 }))).toMatch(
      /^413 image_too_large/,
    );
  });
});
