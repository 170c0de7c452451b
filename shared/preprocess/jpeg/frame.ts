import { EdgetuneError } from '../../errors.ts';
import { buildHuffmanTable, corrupt, type HuffmanTable } from './bits.ts';

/** Zig-zag position → natural (row-major) index (T.81 figure A.6). */
export const ZIGZAG = Uint8Array.from([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7,
  14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46,
  53, 60, 61, 54, 47, 55, 62, 63,
]);

export interface Component {
  id: number;
  /** Position in the frame header (the index of its plane). */
  index: number;
  h: number;
  v: number;
  quantIndex: number;
  /** Blocks that hold image data (what a non-interleaved scan walks). */
  blocksWide: number;
  blocksHigh: number;
  /** Blocks including the MCU padding (what interleaved scans walk and storage is sized for). */
  blocksPerLine: number;
  blocksPerColumn: number;
  /** Progressive only: every block's coefficients, 64 per block, natural order. */
  coef?: Int16Array;
  /** Progressive only: where `coef` lives in the decoder kernels' memory. */
  coefPtr?: number;
  /**
   * Per zig-zag position: 1 when the scaled IDCT reads that coefficient. Sequential scans still
   * decode the others' bits (the entropy code has to be walked) but do not store them.
   */
  used: Uint8Array;
  pred: number;
  dcTable?: HuffmanTable;
  acTable?: HuffmanTable;
}

export interface Frame {
  progressive: boolean;
  width: number;
  height: number;
  maxH: number;
  maxV: number;
  mcusPerLine: number;
  mcusPerColumn: number;
  components: Component[];
}

export interface Scan {
  components: Component[];
  ss: number;
  se: number;
  ah: number;
  al: number;
}

/** Everything the marker segments before and between scans define. */
export interface Tables {
  quant: (Uint16Array | undefined)[];
  dc: (HuffmanTable | undefined)[];
  ac: (HuffmanTable | undefined)[];
  restartInterval: number;
  /** APP14 "Adobe" transform flag: 0 = none (RGB/CMYK), 1 = YCbCr, 2 = YCCK; undefined = no marker. */
  adobeTransform?: number;
  jfif: boolean;
  /** Offset and length of the TIFF block inside the first APP1 "Exif" segment. */
  exif?: { offset: number; length: number };
}

export function segmentLength(b: Uint8Array, at: number): number {
  if (at + 2 > b.length) throw corrupt('the data ends inside a segment length');
  const length = (b[at]! << 8) | b[at + 1]!;
  if (length < 2 || at + length > b.length)
    throw corrupt(`a segment of length ${length} runs past the end of the data`);
  return length;
}

export function readQuantTables(b: Uint8Array, start: number, end: number, tables: Tables): void {
  let o = start;
  while (o < end) {
    const pq = b[o]! >> 4;
    const tq = b[o]! & 15;
    o++;
    if (tq > 3 || pq > 1 || o + 64 * (pq + 1) > end) throw corrupt('bad quantisation table');
    const table = new Uint16Array(64);
    for (let k = 0; k < 64; k++) {
      table[ZIGZAG[k]!] = pq === 0 ? b[o + k]! : (b[o + 2 * k]! << 8) | b[o + 2 * k + 1]!;
    }
    o += 64 * (pq + 1);
    tables.quant[tq] = table;
  }
}

export function readHuffmanTables(b: Uint8Array, start: number, end: number, tables: Tables): void {
  let o = start;
  while (o < end) {
    if (o + 17 > end) throw corrupt('truncated Huffman table');
    const tc = b[o]! >> 4;
    const th = b[o]! & 15;
    const counts = b.subarray(o + 1, o + 17);
    let total = 0;
    for (const c of counts) total += c;
    o += 17;
    if (tc > 1 || th > 3 || total > 256 || o + total > end) throw corrupt('bad Huffman table');
    const table = buildHuffmanTable(counts, b.slice(o, o + total));
    o += total;
    (tc === 0 ? tables.dc : tables.ac)[th] = table;
  }
}

export function readFrame(b: Uint8Array, start: number, marker: number): Frame {
  const precision = b[start]!;
  const height = (b[start + 1]! << 8) | b[start + 2]!;
  const width = (b[start + 3]! << 8) | b[start + 4]!;
  const count = b[start + 5]!;
  if (precision !== 8) {
    throw new EdgetuneError(
      'unsupported_media_type',
      `unsupported JPEG: ${precision}-bit samples; send an 8-bit JPEG`,
    );
  }
  if (width === 0 || height === 0) throw corrupt(`impossible dimensions ${width}×${height}`);
  if (count !== 1 && count !== 3 && count !== 4) {
    throw new EdgetuneError('unsupported_media_type', `unsupported JPEG: ${count} colour components`);
  }
  const components: Component[] = [];
  let maxH = 1;
  let maxV = 1;
  for (let i = 0; i < count; i++) {
    const o = start + 6 + 3 * i;
    const h = b[o + 1]! >> 4;
    const v = b[o + 1]! & 15;
    if (h < 1 || h > 4 || v < 1 || v > 4) throw corrupt(`sampling factors ${h}×${v}`);
    maxH = Math.max(maxH, h);
    maxV = Math.max(maxV, v);
    components.push({
      id: b[o]!,
      index: i,
      h,
      v,
      quantIndex: b[o + 2]! & 3,
      blocksWide: 0,
      blocksHigh: 0,
      blocksPerLine: 0,
      blocksPerColumn: 0,
      pred: 0,
      used: new Uint8Array(64).fill(1),
    });
  }
  const mcusPerLine = Math.ceil(width / (8 * maxH));
  const mcusPerColumn = Math.ceil(height / (8 * maxV));
  for (const c of components) {
    c.blocksWide = Math.ceil(Math.ceil((width * c.h) / maxH) / 8);
    c.blocksHigh = Math.ceil(Math.ceil((height * c.v) / maxV) / 8);
    c.blocksPerLine = mcusPerLine * c.h;
    c.blocksPerColumn = mcusPerColumn * c.v;
  }
  return { progressive: marker === 0xc2, width, height, maxH, maxV, mcusPerLine, mcusPerColumn, components };
}

export function readScanHeader(b: Uint8Array, start: number, frame: Frame, tables: Tables): Scan {
  const count = b[start]!;
  if (count < 1 || count > 4) throw corrupt(`a scan with ${count} components`);
  const components: Component[] = [];
  for (let i = 0; i < count; i++) {
    const id = b[start + 1 + 2 * i]!;
    const sel = b[start + 2 + 2 * i]!;
    const c = frame.components.find((x) => x.id === id);
    if (!c) throw corrupt(`a scan names component ${id}, which the frame does not have`);
    c.dcTable = tables.dc[sel >> 4];
    c.acTable = tables.ac[sel & 15];
    components.push(c);
  }
  const o = start + 1 + 2 * count;
  const scan = { components, ss: b[o]!, se: b[o + 1]!, ah: b[o + 2]! >> 4, al: b[o + 2]! & 15 };
  if (scan.ss > 63 || scan.se > 63 || scan.ss > scan.se || scan.al > 13)
    throw corrupt('bad spectral selection');
  if (!frame.progressive && (scan.ss !== 0 || scan.se !== 63)) scan.se = 63;
  for (const c of components) {
    const needDc = !frame.progressive || scan.ss === 0;
    const needAc = !frame.progressive || scan.se > 0;
    if ((needDc && !c.dcTable && scan.ah === 0) || (needAc && !c.acTable))
      throw corrupt('a scan uses an undefined Huffman table');
  }
  return scan;
}
