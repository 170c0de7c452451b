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
  type Scan,
  segmentLength,
  type Tables,
} from './frame.ts';
import { decodeScan } from './scan.ts';
import { COMPONENT_BYTES, HUFFMAN_SLOT_BYTES, JpegArena, SCAN_ERRORS, writeHuffman } from './wasm.ts';

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
  /** A view of the plane in the kernels' memory (at `ptr`). */
  data: Uint8Array;
  ptr: number;
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
  const arena = new JpegArena();
  try {
    return decodeInto(arena, bytes, scale, keepGrey);
  } finally {
    arena.release();
  }
}

/** Where one decode's buffers live in the kernels' memory (see wasm.ts). */
interface Layout {
  data: number;
  huffman: number;
  components: number;
  quant: number;
  used: number;
  scanList: number;
  out: number;
  xs: number;
  ys: number;
}

function decodeInto(
  arena: JpegArena,
  bytes: Uint8Array,
  scale: JpegScale,
  keepGrey: boolean,
): JpegDecodeResult {
  const tables: Tables = { quant: [], dc: [], ac: [], restartInterval: 0, jfif: false };
  let frame: Frame | undefined;
  let planes: Plane[] = [];
  let scans = 0;
  let offset = 2;
  const base = 8 / scale;
  let ended = false;
  const data = arena.alloc(bytes.length);
  arena.bytes(data, bytes.length).set(bytes);
  const layout: Layout = {
    data,
    huffman: arena.alloc(8 * HUFFMAN_SLOT_BYTES),
    components: arena.alloc(4 * COMPONENT_BYTES),
    quant: arena.alloc(4 * 256),
    used: arena.alloc(4 * 64),
    scanList: arena.alloc(16),
    out: 0,
    xs: 0,
    ys: 0,
  };
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
        planes = allocate(arena, layout, frame, base, scale);
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
        offset = frame.progressive
          ? decodeScan(bytes, end, frame, scan, tables.restartInterval)
          : sequentialScan(arena, layout, bytes.length, end, frame, scan, tables, planes);
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
      writeQuant(arena, layout, i, quantFor(tables, c));
      arena.exports.idctPlane(
        c.coefPtr!,
        layout.quant + i * 256,
        c.blocksPerLine,
        c.blocksPerColumn,
        p.nx,
        p.ny,
        p.ptr,
        p.stride,
      );
      c.coef = undefined;
    }
  }
  const width = Math.ceil(frame.width / scale);
  const height = Math.ceil(frame.height / scale);
  const out = toPixels(arena, layout, frame, planes, tables, width, height, base, keepGrey);
  const exif = tables.exif
    ? bytes.subarray(tables.exif.offset, tables.exif.offset + tables.exif.length)
    : undefined;
  return { ...out, scale, ...(exif ? { exif } : {}) };
}

function writeQuant(arena: JpegArena, layout: Layout, i: number, q: Uint16Array): void {
  new Int32Array(arena.exports.memory.buffer, layout.quant + i * 256, 64).set(q);
}

/**
 * A sequential scan in the kernels: tables and component descriptors into their slots (the
 * quantisation tables are resolved per scan: a DQT between scans may redefine one), then entropy
 * decoding + IDCT of every block into the planes. Returns the offset of the marker after it.
 */
function sequentialScan(
  arena: JpegArena,
  layout: Layout,
  length: number,
  start: number,
  frame: Frame,
  scan: Scan,
  tables: Tables,
  planes: Plane[],
): number {
  const buf = arena.exports.memory.buffer;
  const list = new Int32Array(buf, layout.scanList, 4);
  for (const [n, c] of scan.components.entries()) {
    const i = c.index;
    const p = planes[i]!;
    const dc = layout.huffman + i * HUFFMAN_SLOT_BYTES;
    const ac = layout.huffman + (4 + i) * HUFFMAN_SLOT_BYTES;
    writeHuffman(arena, dc, c.dcTable!);
    writeHuffman(arena, ac, c.acTable!);
    writeQuant(arena, layout, i, quantFor(tables, c));
    new Uint8Array(buf, layout.used + i * 64, 64).set(c.used);
    const at = layout.components + i * COMPONENT_BYTES;
    new Int32Array(buf, at, 14).set([
      c.h,
      c.v,
      c.blocksWide,
      c.blocksHigh,
      p.nx,
      p.ny,
      p.ptr,
      p.stride,
      dc,
      ac,
      layout.quant + i * 256,
      layout.used + i * 64,
      0,
      Math.max(0, c.used.lastIndexOf(1)),
    ]);
    list[n] = at;
  }
  const r = arena.exports.decodeSequential(
    layout.data,
    layout.data + length,
    start,
    layout.scanList,
    scan.components.length,
    tables.restartInterval,
    frame.mcusPerLine,
    frame.mcusPerColumn,
  );
  if (r < 0) throw corrupt(SCAN_ERRORS[r] ?? `error ${r}`);
  return r;
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

/**
 * Every buffer the rest of the decode needs, allocated at once when the frame header is read (a
 * later allocation could grow the memory and detach the views): planes, progressive
 * coefficients, the sample maps and the output. All zeroed: the arena reuses memory.
 */
function allocate(arena: JpegArena, layout: Layout, frame: Frame, base: number, scale: number): Plane[] {
  if (frame.progressive) {
    let bytes = 0;
    for (const c of frame.components) bytes += c.blocksPerLine * c.blocksPerColumn * 128;
    if (bytes > MAX_PROGRESSIVE_COEFFICIENT_BYTES) {
      throw new EdgetuneError(
        'image_too_large',
        `progressive JPEG ${frame.width}×${frame.height} needs ${Math.ceil(bytes / 2 ** 20)} MB of coefficients; the limit is ${MAX_PROGRESSIVE_COEFFICIENT_BYTES / 2 ** 20} MB: send a baseline JPEG`,
      );
    }
    for (const c of frame.components) c.coefPtr = arena.alloc(c.blocksPerLine * c.blocksPerColumn * 128);
  }
  const width = Math.ceil(frame.width / scale);
  const height = Math.ceil(frame.height / scale);
  layout.out = arena.alloc(width * height * 3);
  layout.xs = arena.alloc(frame.components.length * width * 4);
  layout.ys = arena.alloc(frame.components.length * height * 4);
  const sizes = frame.components.map((c) => {
    const nx = blockSize(base, frame.maxH, c.h);
    const ny = blockSize(base, frame.maxV, c.v);
    const stride = c.blocksPerLine * nx;
    const length = stride * c.blocksPerColumn * ny;
    return { nx, ny, stride, length, ptr: arena.alloc(length) };
  });
  const buf = arena.exports.memory.buffer;
  if (frame.progressive) {
    for (const c of frame.components) {
      c.coef = new Int16Array(buf, c.coefPtr!, c.blocksPerLine * c.blocksPerColumn * 64);
      c.coef.fill(0);
    }
  }
  return sizes.map(({ nx, ny, stride, length, ptr }) => {
    const data = new Uint8Array(buf, ptr, length);
    data.fill(0);
    return { data, ptr, stride, nx, ny };
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
  arena: JpegArena,
  layout: Layout,
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
  const buf = arena.exports.memory.buffer;
  const xs = frame.components.map((c, i) => {
    const m = new Int32Array(buf, layout.xs + i * width * 4, width);
    const num = c.h * planes[i]!.nx;
    const den = frame.maxH * base;
    for (let x = 0; x < width; x++) m[x] = Math.floor((x * num) / den);
    return m;
  });
  const ys = frame.components.map((c, i) => {
    const m = new Int32Array(buf, layout.ys + i * height * 4, height);
    const num = c.v * planes[i]!.ny;
    const den = frame.maxV * base;
    for (let y = 0; y < height; y++) m[y] = Math.floor((y * num) / den) * planes[i]!.stride;
    return m;
  });
  const grey = model === 'grey';
  const channels = grey && keepGrey ? 1 : 3;
  if (model === 'ycc') {
    // The maps are the identity whenever the IDCT produced every plane at output resolution.
    // (floor(x · num / den) = x exactly when num = den.)
    const identity = frame.components.every((c, i) => c.h * planes[i]!.nx === frame.maxH * base);
    const [py, pb, pr] = planes;
    arena.exports.yccToRgb(
      py!.ptr,
      pb!.ptr,
      pr!.ptr,
      layout.xs,
      layout.ys,
      width,
      height,
      layout.out,
      identity ? 1 : 0,
    );
    return { width, height, channels, data: arena.bytes(layout.out, width * height * 3).slice() };
  }
  const out = new Uint8Array(width * height * channels);
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
