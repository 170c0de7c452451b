import { decode as decodePng, convertIndexedToRgb, type DecodedPng } from 'fast-png';
import { Unzlib } from 'fflate';
import { EdgetuneError } from '../errors.ts';
import type { ImageHeader } from './header.ts';
import type { RawImage } from './types.ts';

/**
 * PNG → 8-bit grey or RGB with fast-png (pure JS, so Node and workerd decode bit-identically).
 *
 * Conversions, all exact integer arithmetic:
 * - 16-bit samples → round(v × 255 / 65535); 1/2/4-bit grey → v × 255 / (2^d − 1) (exact).
 * - Palette → its RGB(A) entries. tRNS colour keys (grey/RGB) become alpha 0, compared on the
 *   stored samples before any depth reduction.
 * - Alpha is composited on WHITE: c' = round((c·a + 255·(255 − a)) / 255) on 8-bit values.
 *   White because transparent PNGs are mostly drawings, logos and scans laid out for a light page
 *   (how a browser shows them); a model that wants another background must get opaque images.
 */
export function decodePngImage(bytes: Uint8Array, header: ImageHeader, keepGrey: boolean): RawImage {
  if (header.progressive && header.bitDepth < 8) {
    // fast-png 8.0.0 de-interlaces as if every pixel were at least one byte: it would return wrong pixels.
    throw new EdgetuneError(
      'unsupported_media_type',
      `unsupported PNG: interlaced with ${header.bitDepth}-bit samples; save it without interlacing`,
    );
  }
  checkInflatedSize(bytes, header);
  let png: DecodedPng;
  try {
    png = decodePng(bytes, { checkCrc: true });
  } catch (e) {
    throw corrupt(e);
  }
  if (png.width !== header.width || png.height !== header.height) {
    throw new EdgetuneError('invalid_image', 'corrupt PNG: decoded size differs from its header');
  }
  const isPalette = bytes[25] === 3;
  if (isPalette && !png.palette)
    throw new EdgetuneError('invalid_image', 'corrupt PNG: palette image without PLTE');
  let samples: Uint8Array;
  let perPixel: number;
  try {
    ({ samples, perPixel } = isPalette ? paletteSamples(png) : directSamples(png));
  } catch (e) {
    throw corrupt(e);
  }
  const pixels = png.width * png.height;
  if (samples.length !== pixels * perPixel) {
    throw new EdgetuneError('invalid_image', 'corrupt PNG: image data does not fill the image');
  }
  const flat = perPixel === 2 || perPixel === 4 ? compositeOnWhite(samples, perPixel) : samples;
  const channels = perPixel <= 2 ? 1 : 3;
  if (channels === 1 && !keepGrey)
    return { width: png.width, height: png.height, channels: 3, data: greyToRgb(flat) };
  return { width: png.width, height: png.height, channels, data: flat };
}

function corrupt(e: unknown): EdgetuneError {
  if (e instanceof EdgetuneError) return e;
  const detail = e instanceof Error ? e.message : String(e);
  return new EdgetuneError('invalid_image', `corrupt PNG: ${detail}`, { cause: e });
}

function paletteSamples(png: DecodedPng): { samples: Uint8Array; perPixel: number } {
  const palette = png.palette!;
  if (palette.length === 0) throw new Error('empty palette');
  return { samples: convertIndexedToRgb(png), perPixel: palette[0]!.length };
}

/** Grey/RGB/grey+alpha/RGBA at any depth → 8-bit samples, with tRNS keys turned into alpha. */
function directSamples(png: DecodedPng): { samples: Uint8Array; perPixel: number } {
  const { width, height, depth, channels } = png;
  const raw = depth < 8 ? unpackBits(png.data as Uint8Array, width, height, depth) : png.data;
  const key = png.transparency && (channels === 1 || channels === 3) ? png.transparency : undefined;
  if (depth === 8 && !key) return { samples: raw as Uint8Array, perPixel: channels };
  const max = 2 ** depth - 1;
  const half = max >> 1;
  const perPixel = channels + (key ? 1 : 0);
  const pixels = width * height;
  const out = new Uint8Array(pixels * perPixel);
  for (let p = 0; p < pixels; p++) {
    let matches = key !== undefined;
    for (let s = 0; s < channels; s++) {
      const v = raw[p * channels + s]!;
      if (key && v !== key[s]) matches = false;
      out[p * perPixel + s] = depth === 8 ? v : Math.floor((v * 255 + half) / max);
    }
    if (key) out[p * perPixel + channels] = matches ? 0 : 255;
  }
  return { samples: out, perPixel };
}

/** 1/2/4-bit grey rows (each row starts on a byte boundary) → one value per pixel, MSB first. */
function unpackBits(data: Uint8Array, width: number, height: number, depth: number): Uint8Array {
  const rowBytes = Math.ceil((width * depth) / 8);
  const mask = (1 << depth) - 1;
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const bit = x * depth;
      const byte = data[y * rowBytes + (bit >> 3)]!;
      out[y * width + x] = (byte >> (8 - depth - (bit & 7))) & mask;
    }
  }
  return out;
}

export function compositeOnWhite(samples: Uint8Array, perPixel: number): Uint8Array {
  const colour = perPixel - 1;
  const pixels = samples.length / perPixel;
  const out = new Uint8Array(pixels * colour);
  for (let p = 0; p < pixels; p++) {
    const a = samples[p * perPixel + colour]!;
    for (let s = 0; s < colour; s++) {
      const c = samples[p * perPixel + s]!;
      out[p * colour + s] = Math.floor((c * a + 255 * (255 - a) + 127) / 255);
    }
  }
  return out;
}

export function greyToRgb(grey: Uint8Array): Uint8Array {
  const out = new Uint8Array(grey.length * 3);
  for (let i = 0; i < grey.length; i++) {
    const v = grey[i]!;
    out[3 * i] = v;
    out[3 * i + 1] = v;
    out[3 * i + 2] = v;
  }
  return out;
}

const SAMPLES_PER_PIXEL: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const ADAM7: readonly [number, number, number, number][] = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

/** Bytes the zlib stream must inflate to: per scanline one filter byte plus the packed pixels. */
export function expectedPngDataSize(bytes: Uint8Array, header: ImageHeader): number {
  const colourType = bytes[25]!;
  const bitsPerPixel = header.bitDepth * SAMPLES_PER_PIXEL[colourType]!;
  const pass = (w: number, h: number) =>
    w === 0 || h === 0 ? 0 : h * (1 + Math.ceil((w * bitsPerPixel) / 8));
  if (!header.progressive) return pass(header.width, header.height);
  let total = 0;
  for (const [x0, y0, dx, dy] of ADAM7) {
    total += pass(
      Math.ceil(Math.max(0, header.width - x0) / dx),
      Math.ceil(Math.max(0, header.height - y0) / dy),
    );
  }
  return total;
}

/**
 * fast-png inflates every IDAT byte into one growing buffer, so a few MB of crafted zlib data can
 * expand to GBs (a decompression bomb) even when IHDR announces a small image. Inflate once in
 * small steps (≤ 1032× expansion per 4 KiB step), counting, and stop as soon as the stream
 * exceeds what the header allows; too little data is a truncated file.
 */
function checkInflatedSize(bytes: Uint8Array, header: ImageHeader): void {
  const expected = expectedPngDataSize(bytes, header);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let produced = 0;
  let tooMuch = false;
  const inflater = new Unzlib((chunk) => {
    produced += chunk.length;
    if (produced > expected) tooMuch = true;
  });
  let offset = 8;
  let sawEnd = false;
  try {
    while (offset + 8 <= bytes.length) {
      const length = view.getUint32(offset);
      const type = String.fromCharCode(...bytes.subarray(offset + 4, offset + 8));
      const start = offset + 8;
      if (start + length + 4 > bytes.length) break;
      if (type === 'IDAT') {
        for (let i = start; i < start + length && !tooMuch; i += 4096) {
          inflater.push(bytes.subarray(i, Math.min(i + 4096, start + length)), false);
        }
      }
      if (tooMuch) break;
      offset = start + length + 4;
      if (type === 'IEND') {
        sawEnd = true;
        break;
      }
    }
    if (!tooMuch && sawEnd) inflater.push(new Uint8Array(0), true);
  } catch (e) {
    throw new EdgetuneError('invalid_image', `corrupt PNG: bad compressed data (${(e as Error).message})`, {
      cause: e,
    });
  }
  if (tooMuch) {
    throw new EdgetuneError(
      'invalid_image',
      `corrupt PNG: image data inflates to more than the ${expected} bytes its ${header.width}×${header.height} header allows`,
    );
  }
  if (!sawEnd) throw new EdgetuneError('invalid_image', 'truncated PNG: the data ends before the IEND chunk');
  if (produced < expected) {
    throw new EdgetuneError(
      'invalid_image',
      `truncated PNG: image data has ${produced} of ${expected} bytes`,
    );
  }
}
