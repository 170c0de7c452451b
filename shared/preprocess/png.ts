import { EdgetuneError } from '../errors.ts';
import type { ImageHeader } from './header.ts';
import { type RawPng, readRawPng } from './png-raw.ts';
import { rgbaOnWhite } from './resize-wasm.ts';
import type { RawImage } from './types.ts';

/**
 * PNG → 8-bit grey or RGB (pure JS, so Node and workerd decode bit-identically; inflate and
 * unfiltering in png-raw.ts).
 *
 * Conversions, all exact integer arithmetic:
 * - 16-bit samples → round(v × 255 / 65535); 1/2/4-bit grey → v × 255 / (2^d − 1) (exact).
 * - Palette → its RGB(A) entries. tRNS colour keys (grey/RGB) become alpha 0, compared on the
 *   stored samples before any depth reduction.
 * - Alpha is composited on WHITE: c' = round((c·a + 255·(255 − a)) / 255) on 8-bit values.
 *   White because transparent PNGs are mostly drawings, logos and scans laid out for a light page
 *   (how a browser shows them); a model that wants another background must get opaque images.
 */
export function decodePngImage(
  bytes: Uint8Array,
  header: ImageHeader,
  keepGrey: boolean,
  inflated?: Uint8Array,
): RawImage {
  if (header.progressive && header.bitDepth < 8) {
    // Adam7 passes of sub-byte samples start mid-byte; not worth a code path of their own.
    throw new EdgetuneError(
      'unsupported_media_type',
      `unsupported PNG: interlaced with ${header.bitDepth}-bit samples; save it without interlacing`,
    );
  }
  return pngToImage(readRawPng(bytes, header, undefined, inflated), keepGrey);
}

/** Unfiltered PNG samples (a whole picture or a band of rows) → 8-bit grey or RGB, alpha on white. */
export function pngToImage(png: RawPng, keepGrey: boolean): RawImage {
  const { samples, perPixel } = png.palette ? paletteSamples(png, png.palette) : directSamples(png);
  const flat = perPixel === 2 || perPixel === 4 ? compositeOnWhite(samples, perPixel) : samples;
  const channels = perPixel <= 2 ? 1 : 3;
  if (channels === 1 && !keepGrey)
    return { width: png.width, height: png.height, channels: 3, data: greyToRgb(flat) };
  return { width: png.width, height: png.height, channels, data: flat };
}

function paletteSamples(png: RawPng, palette: number[][]): { samples: Uint8Array; perPixel: number } {
  const { width, height, depth } = png;
  const indices =
    depth < 8 ? unpackBits(png.data as Uint8Array, width, height, depth) : (png.data as Uint8Array);
  const perPixel = palette[0]!.length;
  const out = new Uint8Array(width * height * perPixel);
  for (let p = 0; p < indices.length; p++) {
    const colour = palette[indices[p]!];
    if (!colour)
      throw new EdgetuneError(
        'invalid_image',
        `corrupt PNG: palette index ${indices[p]} is not in the palette`,
      );
    for (let s = 0; s < perPixel; s++) out[p * perPixel + s] = colour[s]!;
  }
  return { samples: out, perPixel };
}

/** Grey/RGB/grey+alpha/RGBA at any depth → 8-bit samples, with tRNS keys turned into alpha. */
function directSamples(png: RawPng): { samples: Uint8Array; perPixel: number } {
  const { width, height, depth, channels } = png;
  const raw = depth < 8 ? unpackBits(png.data as Uint8Array, width, height, depth) : png.data;
  const key = png.transparency;
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

/** 1/2/4-bit rows (each row starts on a byte boundary) → one value per pixel, MSB first. */
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
  // RGBA (RGBA PNGs; WebPs take rgbaOnWhiteInPlace): the same formula in WebAssembly SIMD, four
  // opaque pixels per shuffle.
  if (perPixel === 4) return rgbaOnWhite(samples);
  const colour = perPixel - 1;
  const pixels = samples.length / perPixel;
  const out = new Uint8Array(pixels * colour);
  for (let p = 0; p < pixels; p++) {
    const a = samples[p * perPixel + colour]!;
    if (a === 255) {
      // Opaque (most pixels of most uploads): the formula gives c exactly.
      for (let s = 0; s < colour; s++) out[p * colour + s] = samples[p * perPixel + s]!;
      continue;
    }
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
