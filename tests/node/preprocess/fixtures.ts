/** Test-time image fixtures: small PNG/JPEG byte strings built by code (nothing binary is committed). */
import { readFileSync } from 'node:fs';
import { crc32, deflateSync } from 'node:zlib';

export const repoRoot = new URL('../../../', import.meta.url).pathname;

export function readData(path: string): Uint8Array {
  return new Uint8Array(readFileSync(repoRoot + path));
}

function u32(n: number): number[] {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
}

/** One PNG chunk with a correct CRC. */
export function pngChunk(type: string, data: Uint8Array | number[]): Uint8Array {
  const body = Uint8Array.from([...Array.from(type, (c) => c.charCodeAt(0)), ...data]);
  return Uint8Array.from([...u32(data.length), ...body, ...u32(crc32(body))]);
}

export const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function concat(...parts: (Uint8Array | number[])[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** IHDR data for width × height, bit depth, colour type, interlace. */
export function ihdr(width: number, height: number, depth = 8, colourType = 0, interlace = 0): Uint8Array {
  return pngChunk('IHDR', [...u32(width), ...u32(height), depth, colourType, 0, 0, interlace]);
}

/** A PNG made of raw (already filtered) scanline bytes, optionally with extra chunks before IDAT. */
export function rawPng(
  width: number,
  height: number,
  depth: number,
  colourType: number,
  scanlines: Uint8Array,
  extra: Uint8Array[] = [],
): Uint8Array {
  return concat(
    PNG_SIGNATURE,
    ihdr(width, height, depth, colourType),
    ...extra,
    pngChunk('IDAT', deflateSync(scanlines)),
    pngChunk('IEND', []),
  );
}

/** A minimal JPEG head: SOI, an APP0 segment, then a frame header with the given marker. */
export function jpegHead(
  marker: number,
  width: number,
  height: number,
  components = 3,
  precision = 8,
): Uint8Array {
  const app0 = [0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0];
  const comps: number[] = [];
  for (let i = 0; i < components; i++) comps.push(i + 1, 0x11, 0);
  const sof = [
    0xff,
    marker,
    0,
    8 + 3 * components,
    precision,
    height >> 8,
    height & 255,
    width >> 8,
    width & 255,
    components,
    ...comps,
  ];
  return Uint8Array.from([0xff, 0xd8, ...app0, ...sof]);
}
