import { createHash } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import { encode as encodePng, type ImageData } from 'fast-png';
import jpeg from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { EdgetuneError } from '../../../shared/errors.ts';
import { decodeImage } from '../../../shared/preprocess/index.ts';
import { createRng } from '../../../shared/random.ts';
import { concat, ihdr, PNG_SIGNATURE, pngChunk, rawPng, readData } from './fixtures.ts';

const W = 13; // odd width: sub-byte rows end mid-byte
const H = 7;

function randomSamples(n: number, max: number, seed: number): number[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => Math.floor(rng() * (max + 1)));
}

/** Packs one-value-per-pixel rows MSB first, each row starting on a byte boundary. */
function pack(values: number[], width: number, depth: number): Uint8Array {
  const rowBytes = Math.ceil((width * depth) / 8);
  const out = new Uint8Array(rowBytes * (values.length / width));
  values.forEach((v, i) => {
    const y = Math.floor(i / width);
    const bit = (i % width) * depth;
    out[y * rowBytes + (bit >> 3)]! |= v << (8 - depth - (bit & 7));
  });
  return out;
}

/** Reference conversions, written independently of the implementation. */
const to8 = (v: number, depth: number) => Math.round((v * 255) / (2 ** depth - 1));
const onWhite = (c: number, a: number) => Math.round((c * a + 255 * (255 - a)) / 255);

function code(f: () => unknown): string {
  try {
    f();
    return 'no error';
  } catch (e) {
    return e instanceof EdgetuneError ? e.code : `raw ${String(e)}`;
  }
}

describe('PNG round trips (fast-png encodes, the decoder reads)', () => {
  for (const depth of [1, 2, 4, 8, 16] as const) {
    for (const interlace of depth < 8 ? (['null'] as const) : (['null', 'Adam7'] as const)) {
      it(`grey ${depth}-bit, interlace ${interlace}`, () => {
        const v = randomSamples(W * H, 2 ** depth - 1, depth);
        const data = depth < 8 ? pack(v, W, depth) : depth === 16 ? Uint16Array.from(v) : Uint8Array.from(v);
        const png = encodePng({ width: W, height: H, channels: 1, depth, data }, { interlace });
        const grey = decodeImage(png, { keepGrey: true });
        expect(grey.channels).toBe(1);
        expect(Array.from(grey.data)).toEqual(v.map((x) => to8(x, depth)));
        const rgb = decodeImage(png);
        expect(rgb.channels).toBe(3);
        expect(Array.from(rgb.data)).toEqual(v.flatMap((x) => [to8(x, depth), to8(x, depth), to8(x, depth)]));
      });
    }
  }

  for (const depth of [8, 16] as const) {
    it(`RGB, RGBA and grey+alpha at ${depth} bits (alpha composited on white)`, () => {
      const max = 2 ** depth - 1;
      const arr = (v: number[]) => (depth === 16 ? Uint16Array.from(v) : Uint8Array.from(v));
      const rgb = randomSamples(W * H * 3, max, 10 + depth);
      const dRgb = decodeImage(encodePng({ width: W, height: H, channels: 3, depth, data: arr(rgb) }));
      expect(Array.from(dRgb.data)).toEqual(rgb.map((x) => to8(x, depth)));

      const rgba = randomSamples(W * H * 4, max, 20 + depth);
      rgba[3] = 0; // fully transparent pixel → white
      rgba[7] = max; // opaque pixel → unchanged
      const dRgba = decodeImage(encodePng({ width: W, height: H, channels: 4, depth, data: arr(rgba) }));
      const expected: number[] = [];
      for (let p = 0; p < W * H; p++) {
        const a = to8(rgba[4 * p + 3]!, depth);
        for (let c = 0; c < 3; c++) expected.push(onWhite(to8(rgba[4 * p + c]!, depth), a));
      }
      expect(Array.from(dRgba.data)).toEqual(expected);
      expect(Array.from(dRgba.data.subarray(0, 3))).toEqual([255, 255, 255]);
      expect(Array.from(dRgba.data.subarray(3, 6))).toEqual(rgba.slice(4, 7).map((x) => to8(x, depth)));

      const ga = randomSamples(W * H * 2, max, 30 + depth);
      const dGa = decodeImage(encodePng({ width: W, height: H, channels: 2, depth, data: arr(ga) }), {
        keepGrey: true,
      });
      expect(dGa.channels).toBe(1);
      expect(Array.from(dGa.data)).toEqual(
        Array.from({ length: W * H }, (_, p) => onWhite(to8(ga[2 * p]!, depth), to8(ga[2 * p + 1]!, depth))),
      );
    });
  }

  for (const depth of [1, 2, 4, 8] as const) {
    it(`palette ${depth}-bit, with and without tRNS`, () => {
      const colours = 2 ** depth;
      const rng = createRng(40 + depth);
      const opaque = Array.from({ length: colours }, () => [0, 0, 0].map(() => Math.floor(rng() * 256)));
      const idx = randomSamples(W * H, colours - 1, 50 + depth);
      const image: ImageData = { width: W, height: H, channels: 1, depth, data: pack(idx, W, depth) };
      const d = decodeImage(encodePng({ ...image, palette: opaque }));
      expect(Array.from(d.data)).toEqual(idx.flatMap((i) => opaque[i]!));
      const alpha = opaque.map((c, i) => [...c, i === 0 ? 0 : Math.floor(rng() * 256)]);
      const dA = decodeImage(encodePng({ ...image, palette: alpha }));
      expect(Array.from(dA.data)).toEqual(
        idx.flatMap((i) => alpha[i]!.slice(0, 3).map((c) => onWhite(c, alpha[i]![3]!))),
      );
    });
  }

  it('refuses interlaced sub-byte PNGs with 415', () => {
    const png = encodePng(
      { width: W, height: H, channels: 1, depth: 4, data: new Uint8Array(7 * H) },
      { interlace: 'Adam7' },
    );
    expect(code(() => decodeImage(png))).toBe('unsupported_media_type');
  });

  it('tRNS colour keys on grey and RGB images become transparent (white)', () => {
    // Grey 8-bit, key 7: scanlines with filter byte 0.
    const grey = [7, 8, 7, 200];
    const pngGrey = rawPng(2, 2, 8, 0, Uint8Array.from([0, 7, 8, 0, 7, 200]), [pngChunk('tRNS', [0, 7])]);
    expect(Array.from(decodeImage(pngGrey, { keepGrey: true }).data)).toEqual(
      grey.map((v) => (v === 7 ? 255 : v)),
    );
    // RGB 16-bit, key (1, 2, 3): compared on 16-bit samples, so (1, 2, 4) stays opaque.
    const px = (r: number, g: number, b: number) => [r >> 8, r & 255, g >> 8, g & 255, b >> 8, b & 255];
    // (fast-png refuses a 3-value tRNS on images of fewer than 3 pixels, hence 2×2.)
    const lines = Uint8Array.from([0, ...px(1, 2, 3), ...px(1, 2, 4), 0, ...px(65535, 0, 0), ...px(1, 2, 3)]);
    const pngRgb = rawPng(2, 2, 16, 2, lines, [pngChunk('tRNS', [0, 1, 0, 2, 0, 3])]);
    expect(Array.from(decodeImage(pngRgb).data)).toEqual([255, 255, 255, 0, 0, 0, 255, 0, 0, 255, 255, 255]);
  });

  it('decodes the shipped photos and digits sheet', () => {
    const chelsea = decodeImage(readData('data/photos/chelsea.png'));
    expect([chelsea.width, chelsea.height, chelsea.channels, chelsea.data.length]).toEqual([
      451, 300, 3, 405_900,
    ]);
    const digits = decodeImage(readData('data/opencv-digits/digits.png'), { keepGrey: true });
    expect([digits.width, digits.height, digits.channels]).toEqual([2000, 1000, 1]);
    // White digits on black: the corners of every cell are background.
    expect(digits.data[0]).toBe(0);
    const mean = digits.data.reduce((a, b) => a + b, 0) / digits.data.length;
    expect(mean).toBeGreaterThan(20);
    expect(mean).toBeLessThan(50);
  });
});

describe('PNG defences', () => {
  it('refuses a decompression bomb: tiny header, 64 MB of image data, by the header-derived bound', () => {
    const inflated = new Uint8Array(64 * 2 ** 20); // zero filter bytes and pixels
    const bomb = rawPng(16, 16, 8, 0, inflated);
    expect(bomb.length).toBeLessThan(100_000);
    // The message names the bound derived from the 16×16 header: inflation stopped there, long
    // before the 64 MB the stream holds (speed belongs in the bench, not in an assert here).
    expect(() => decodeImage(bomb)).toThrow(/inflates to more than the 272 bytes/);
  });

  it('refuses truncated files, short image data, bad CRCs and bad palette indices', () => {
    const png = readData('data/photos/chelsea.png');
    expect(code(() => decodeImage(png.subarray(0, png.length - 12)))).toBe('invalid_image'); // no IEND
    expect(code(() => decodeImage(png.subarray(0, 5000)))).toBe('invalid_image');
    const flipped = png.slice();
    flipped[5000]! ^= 0x55;
    expect(code(() => decodeImage(flipped))).toBe('invalid_image');
    expect(code(() => decodeImage(rawPng(4, 4, 8, 0, new Uint8Array(10))))).toBe('invalid_image'); // 10 of 20 bytes
    // Palette of 2 colours, index 3 used.
    const pal = rawPng(2, 1, 8, 3, Uint8Array.from([0, 0, 3]), [pngChunk('PLTE', [1, 2, 3, 4, 5, 6])]);
    expect(code(() => decodeImage(pal))).toBe('invalid_image');
    // Palette image without PLTE.
    expect(code(() => decodeImage(rawPng(2, 1, 8, 3, Uint8Array.from([0, 0, 0]))))).toBe('invalid_image');
    // Not zlib data at all.
    const junk = concat(PNG_SIGNATURE, ihdr(2, 2), pngChunk('IDAT', [1, 2, 3, 4]), pngChunk('IEND', []));
    expect(code(() => decodeImage(junk))).toBe('invalid_image');
    expect(deflateSync(new Uint8Array(1)).length).toBeGreaterThan(0);
  });

  it('never crashes on mutated PNG and JPEG files: decoded, or an EdgetuneError', () => {
    const rng = createRng(7);
    const png = encodePng({
      width: 24,
      height: 16,
      channels: 3,
      data: Uint8Array.from(randomSamples(1152, 255, 3)),
    });
    const jpg = jpeg.encode({ width: 24, height: 16, data: new Uint8Array(24 * 16 * 4).fill(128) }, 80).data;
    const outcomes = new Map<string, number>();
    for (const base of [png, new Uint8Array(jpg)]) {
      for (let trial = 0; trial < 300; trial++) {
        const bytes = base.slice(0, trial % 3 === 0 ? Math.floor(rng() * base.length) : base.length);
        for (let k = 0; k < 1 + Math.floor(rng() * 4); k++) {
          bytes[Math.floor(rng() * bytes.length)] = Math.floor(rng() * 256);
        }
        const c = code(() => decodeImage(bytes, { maxPixels: 1_000_000 }));
        outcomes.set(c, (outcomes.get(c) ?? 0) + 1);
      }
    }
    const raw = [...outcomes.keys()].filter((k) => k.startsWith('raw'));
    expect(raw).toEqual([]);
    expect(outcomes.get('invalid_image')).toBeGreaterThan(100);
  });
});

describe('JPEG decode', () => {
  it('decodes the Hubble photo deterministically', () => {
    const img = decodeImage(readData('data/photos/hubble_deep_field.jpg'));
    expect([img.width, img.height, img.channels, img.data.length]).toEqual([1000, 872, 3, 2_616_000]);
    const mean = [0, 1, 2].map((c) => {
      let s = 0;
      for (let i = c; i < img.data.length; i += 3) s += img.data[i]!;
      return s / (img.width * img.height);
    });
    // A deep-field image: mostly black sky.
    for (const m of mean) expect(m).toBeLessThan(40);
    // Pins the exact decoded pixels: any change in the decoder (or a runtime difference) shows here.
    expect(createHash('sha256').update(img.data).digest('hex').slice(0, 16)).toBe('cfdd4dec5976f4e5');
  });

  it('decodes a JPEG of a real photo close to the original (PSNR > 30 dB at quality 95)', () => {
    const src = decodeImage(readData('data/photos/chelsea.png'));
    const rgba = new Uint8Array(src.width * src.height * 4);
    for (let p = 0; p < src.width * src.height; p++) {
      rgba.set(src.data.subarray(3 * p, 3 * p + 3), 4 * p);
      rgba[4 * p + 3] = 255;
    }
    const encoded = new Uint8Array(
      jpeg.encode({ width: src.width, height: src.height, data: rgba }, 95).data,
    );
    const back = decodeImage(encoded);
    expect(back.header.format).toBe('jpeg');
    expect([back.width, back.height]).toEqual([451, 300]);
    let se = 0;
    for (let i = 0; i < src.data.length; i++) se += (src.data[i]! - back.data[i]!) ** 2;
    const psnr = 10 * Math.log10((255 * 255) / (se / src.data.length));
    expect(psnr).toBeGreaterThan(30);
  });

  it('refuses truncated and corrupt JPEGs with invalid_image', () => {
    const jpg = readData('data/photos/hubble_deep_field.jpg');
    expect(code(() => decodeImage(jpg.subarray(0, 300)))).toBe('invalid_image');
    expect(code(() => decodeImage(jpg.subarray(0, Math.floor(jpg.length * 0.6))))).toBe('invalid_image');
    // Scrambles entropy-coded data right after the start of scan (SOS at byte 15844 in this file).
    const bad = jpg.slice();
    for (let i = 16_100; i < 21_000; i++) bad[i] = (i * 7) & 255;
    expect(code(() => decodeImage(bad))).toBe('invalid_image');
  });
});
