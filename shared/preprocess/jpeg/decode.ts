import { EdgetuneError } from '../../errors.ts';
import type { RawImage } from '../types.ts';
import { corrupt } from './bits.ts';
import {
  type Component,
  type Frame,
  readFrame,
  ZIGZAG,
  readHuffmanTables,
  readQuantTables,
  readScanHeader,
  segmentLength,
  type Tables,
} from './frame.ts';
import { inverseDct } from './idct.ts';
import { decodeScan } from './scan.ts';

/** libjpeg's scale_denom: the picture is decoded at 1/denom of its size in the DCT domain. */
export type JpegScale = 1 | 2 | 4 | 8;

/**
 * Progressive JPEGs keep every coefficient until the last scan (2 bytes each; 3 per pixel at 4:4:4,
 * 1.5 at 4:2:0). Beyond this they are refused rather than risk a Worker's 128 MB: ~26 MP at 4:2:0.
 * Sequential (baseline) JPEGs — what cameras and phones write — stream block by block and need
 * no such buffer, so they are bounded only by the scaled output.
 */
export const MAX_PROGRESSIVE_COEFFICIENT_BYTES = 80 * 2 ** 20;

export interface JpegDecodeResult extends RawImage {
  /** The TIFF block of the APP1 Exif segment, for orientation. */
  exif?: Uint8Array;
  scale: JpegScale;
}

interface Plane {
  data: Uint8Array;
  stride: number;
  /** IDCT output size per block along each axis. */
  nx: number;
  ny: number;
}

/**
 * Decodes a baseline, extended or progressive Huffman JPEG at 1/scale (ceil(w / scale) ×
 * ceil(h / scale), as libjpeg). Each component is inverse-transformed straight to the output
 * resolution when its subsampling allows (chroma at 4:2:0 and scale 2 uses 8×8 → 4×4 for luma
 * and 8×8 → 8×8 for chroma), so there is no separate upsampling step except at full scale,
 * where subsampled chroma is replicated. Colour: YCbCr (JFIF), RGB (Adobe transform 0 or
 * components named R, G, B), CMYK and YCCK (Adobe transform 2); Adobe CMYK is stored inverted
 * (Photoshop's convention) and is read as such.
 */
export function decodeJpeg(bytes: Uint8Array, scale: JpegScale, keepGrey: boolean): JpegDecodeResult {
  const tables: Tables = { quant: [], dc: [], ac: [], restartInterval: 0, jfif: false };
  let frame: Frame | undefined;
  let planes: Plane[] = [];
  let scans = 0;
  let offset = 2;
  const base = 8 / scale;
  let ended = false;
  while (offset < bytes.length && !ended) {
    if (bytes[offset] !== 0xff) {
      // Some encoders leave junk between segments; libjpeg skips to the next marker too.
      offset++;
      continue;
    }
    const marker = bytes[offset + 1];
    if (marker === undefined) break;
    offset += 2;
    if (marker === 0xff || marker === 0x00 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      if (marker === 0xff) offset--;
      continue;
    }
    if (marker === 0xd9) {
      ended = true;
      break;
    }
    const length = segmentLength(bytes, offset);
    const start = offset + 2;
    const end = offset + length;
    switch (marker) {
      case 0xc0:
      case 0xc1:
      case 0xc2:
        if (frame) throw corrupt('more than one frame');
        if (length < 8) throw corrupt('frame header too short');
        frame = readFrame(bytes, start, marker);
        planes = allocate(frame, base);
        for (const c of frame.components) markUsed(c, planes[c.index]!);
        break;
      case 0xc4:
        readHuffmanTables(bytes, start, end, tables);
        break;
      case 0xdb:
        readQuantTables(bytes, start, end, tables);
        break;
      case 0xdd:
        tables.restartInterval = (bytes[start]! << 8) | bytes[start + 1]!;
        break;
      case 0xe0:
        if (bytes[start] === 0x4a && bytes[start + 1] === 0x46 && bytes[start + 2] === 0x49)
          tables.jfif = true;
        break;
      case 0xe1:
        if (
          !tables.exif &&
          length >= 8 &&
          String.fromCharCode(...bytes.subarray(start, start + 6)) === 'Exif\0\0'
        ) {
          tables.exif = { offset: start + 6, length: end - start - 6 };
        }
        break;
      case 0xee:
        if (length >= 14 && String.fromCharCode(...bytes.subarray(start, start + 5)) === 'Adobe') {
          tables.adobeTransform = bytes[start + 11];
        }
        break;
      case 0xda: {
        if (!frame) throw corrupt('a scan before the frame header');
        const scan = readScanHeader(bytes, start, frame, tables);
        for (const c of scan.components) c.pred = 0;
        // Resolved per scan: a DQT between scans may redefine a table.
        const quants = frame.progressive ? [] : frame.components.map((c) => quantFor(tables, c));
        const sink = (c: Component, row: number, col: number, coef: Int32Array, dcOnly: boolean): void => {
          const p = planes[c.index]!;
          inverseDct(
            coef,
            0,
            quants[c.index]!,
            p.nx,
            p.ny,
            p.data,
            row * p.ny * p.stride + col * p.nx,
            p.stride,
            dcOnly,
          );
        };
        offset = decodeScan(bytes, end, frame, scan, tables.restartInterval, sink);
        scans++;
        continue;
      }
      default:
        if (marker >= 0xc3 && marker <= 0xcf)
          throw corrupt(`unsupported frame type 0xFF${marker.toString(16)}`);
    }
    offset = end;
  }
  if (!frame || scans === 0) throw corrupt('truncated: no image data (scan) before the end of the data');
  if (frame.progressive) {
    for (const [i, c] of frame.components.entries()) {
      const p = planes[i]!;
      const q = quantFor(tables, c);
      for (let row = 0; row < c.blocksPerColumn; row++) {
        for (let col = 0; col < c.blocksPerLine; col++) {
          const at = (row * c.blocksPerLine + col) * 64;
          inverseDct(c.coef!, at, q, p.nx, p.ny, p.data, row * p.ny * p.stride + col * p.nx, p.stride);
        }
      }
      c.coef = undefined;
    }
  }
  const width = Math.ceil(frame.width / scale);
  const height = Math.ceil(frame.height / scale);
  const out = toPixels(frame, planes, tables, width, height, base, keepGrey);
  const exif = tables.exif
    ? bytes.subarray(tables.exif.offset, tables.exif.offset + tables.exif.length)
    : undefined;
  return { ...out, scale, ...(exif ? { exif } : {}) };
}

/** The coefficients an nx × ny IDCT reads: rows v < ny, columns u < nx (see idct.ts). */
function markUsed(c: Component, p: Plane): void {
  for (let k = 0; k < 64; k++) {
    const z = ZIGZAG[k]!;
    c.used[k] = (z & 7) < p.nx && z >> 3 < p.ny ? 1 : 0;
  }
}

function quantFor(tables: Tables, c: Component): Uint16Array {
  const q = tables.quant[c.quantIndex];
  if (!q) throw corrupt(`component ${c.id} uses quantisation table ${c.quantIndex}, which is not defined`);
  return q;
}

/** IDCT size for a component: enough that it needs no upsampling, when a power of two ≤ 8 allows. */
function blockSize(base: number, max: number, factor: number): number {
  const n = (base * max) / factor;
  return n === 1 || n === 2 || n === 4 || n === 8 ? n : base;
}

function allocate(frame: Frame, base: number): Plane[] {
  if (frame.progressive) {
    let bytes = 0;
    for (const c of frame.components) bytes += c.blocksPerLine * c.blocksPerColumn * 128;
    if (bytes > MAX_PROGRESSIVE_COEFFICIENT_BYTES) {
      throw new EdgetuneError(
        'image_too_large',
        `progressive JPEG ${frame.width}×${frame.height} needs ${Math.ceil(bytes / 2 ** 20)} MB of coefficients; the limit is ${MAX_PROGRESSIVE_COEFFICIENT_BYTES / 2 ** 20} MB: send a baseline JPEG`,
      );
    }
    for (const c of frame.components) c.coef = new Int16Array(c.blocksPerLine * c.blocksPerColumn * 64);
  }
  return frame.components.map((c) => {
    const nx = blockSize(base, frame.maxH, c.h);
    const ny = blockSize(base, frame.maxV, c.v);
    const stride = c.blocksPerLine * nx;
    return { data: new Uint8Array(stride * c.blocksPerColumn * ny), stride, nx, ny };
  });
}

function clamp(v: number): number {
  const r = Math.floor(v + 0.5);
  return r < 0 ? 0 : Math.min(r, 255);
}

type ColourModel = 'grey' | 'ycc' | 'rgb' | 'cmyk' | 'ycck';

function colourModel(frame: Frame, tables: Tables): ColourModel {
  const n = frame.components.length;
  if (n === 1) return 'grey';
  if (n === 4) return tables.adobeTransform === 2 ? 'ycck' : 'cmyk';
  if (tables.adobeTransform !== undefined) return tables.adobeTransform === 0 ? 'rgb' : 'ycc';
  if (tables.jfif) return 'ycc';
  const ids = frame.components.map((c) => c.id);
  return ids[0] === 0x52 && ids[1] === 0x47 && ids[2] === 0x42 ? 'rgb' : 'ycc';
}

/**
 * Planes → interleaved 8-bit pixels, cropped to the scaled size. Component sample for output x
 * is floor(x · h · nx / (maxH · base)): the identity when the IDCT already produced full
 * resolution, pixel replication otherwise. YCbCr → RGB with the JFIF equations (float64, rounded).
 */
function toPixels(
  frame: Frame,
  planes: Plane[],
  tables: Tables,
  width: number,
  height: number,
  base: number,
  keepGrey: boolean,
): RawImage {
  const model = colourModel(frame, tables);
  const n = frame.components.length;
  const xs = frame.components.map((c, i) => {
    const m = new Int32Array(width);
    const num = c.h * planes[i]!.nx;
    const den = frame.maxH * base;
    for (let x = 0; x < width; x++) m[x] = Math.floor((x * num) / den);
    return m;
  });
  const ys = frame.components.map((c, i) => {
    const m = new Int32Array(height);
    const num = c.v * planes[i]!.ny;
    const den = frame.maxV * base;
    for (let y = 0; y < height; y++) m[y] = Math.floor((y * num) / den) * planes[i]!.stride;
    return m;
  });
  const grey = model === 'grey';
  const channels = grey && keepGrey ? 1 : 3;
  const out = new Uint8Array(width * height * channels);
  if (model === 'ycc') {
    yccToRgb(planes, xs, ys, width, height, out);
    return { width, height, channels, data: out };
  }
  const s = new Float64Array(4);
  let o = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let i = 0; i < n; i++) s[i] = planes[i]!.data[ys[i]![y]! + xs[i]![x]!]!;
      if (grey) {
        const v = s[0]!;
        out[o++] = v;
        if (channels === 3) {
          out[o++] = v;
          out[o++] = v;
        }
        continue;
      }
      let r = s[0]!;
      let g = s[1]!;
      let b = s[2]!;
      if (model === 'ycck') {
        const yy = r;
        const cb = g - 128;
        const cr = b - 128;
        r = clamp(yy + 1.402 * cr);
        g = clamp(yy - 0.344136286 * cb - 0.714136286 * cr);
        b = clamp(yy + 1.772 * cb);
      }
      if (model === 'ycck') {
        // YCCK carries C, M, Y as 255 − (the RGB its YCC decodes to) (libjpeg's ycck_cmyk_convert).
        r = 255 - r;
        g = 255 - g;
        b = 255 - b;
      }
      if (model === 'cmyk' || model === 'ycck') {
        // Adobe CMYK/YCCK store ink inverted (255 = no ink): RGB = stored · K_stored / 255.
        const k = s[3]!;
        const inverted = tables.adobeTransform !== undefined;
        const kk = inverted ? k : 255 - k;
        r = clamp(((inverted ? r : 255 - r) * kk) / 255);
        g = clamp(((inverted ? g : 255 - g) * kk) / 255);
        b = clamp(((inverted ? b : 255 - b) * kk) / 255);
      }
      out[o++] = r;
      out[o++] = g;
      out[o++] = b;
    }
  }
  return { width, height, channels, data: out };
}

/** The JFIF products per 8-bit chroma value, computed once: the same doubles as computing them per pixel. */
const CR_R = new Float64Array(256);
const CB_G = new Float64Array(256);
const CR_G = new Float64Array(256);
const CB_B = new Float64Array(256);
for (let i = 0; i < 256; i++) {
  CR_R[i] = 1.402 * (i - 128);
  CB_G[i] = 0.344136286 * (i - 128);
  CR_G[i] = 0.714136286 * (i - 128);
  CB_B[i] = 1.772 * (i - 128);
}

/** The common case (JFIF YCbCr) without per-pixel dispatch: same arithmetic as toPixels. */
function yccToRgb(
  planes: Plane[],
  xs: Int32Array[],
  ys: Int32Array[],
  width: number,
  height: number,
  out: Uint8Array,
): void {
  const [py, pb, pr] = [planes[0]!.data, planes[1]!.data, planes[2]!.data];
  const [xy, xb, xr] = [xs[0]!, xs[1]!, xs[2]!];
  let o = 0;
  for (let y = 0; y < height; y++) {
    const ry = ys[0]![y]!;
    const rb = ys[1]![y]!;
    const rr = ys[2]![y]!;
    for (let x = 0; x < width; x++) {
      const yy = py[ry + xy[x]!]!;
      const cb = pb[rb + xb[x]!]!;
      const cr = pr[rr + xr[x]!]!;
      const r = Math.floor(yy + CR_R[cr]! + 0.5);
      const g = Math.floor(yy - CB_G[cb]! - CR_G[cr]! + 0.5);
      const b = Math.floor(yy + CB_B[cb]! + 0.5);
      out[o++] = r < 0 ? 0 : Math.min(r, 255);
      out[o++] = g < 0 ? 0 : Math.min(g, 255);
      out[o++] = b < 0 ? 0 : Math.min(b, 255);
    }
  }
}
