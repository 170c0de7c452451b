import { Unzlib } from 'fflate';
import { EdgetuneError } from '../errors.ts';
import type { ImageHeader } from './header.ts';

/** A PNG's samples after inflate and unfiltering, before any colour conversion (see png.ts). */
export interface RawPng {
  width: number;
  height: number;
  /** Bits per sample: 1, 2, 4, 8 or 16. */
  depth: number;
  /** Samples per pixel: 1 (grey or palette index), 2, 3 or 4. */
  channels: number;
  /** Rows of packed samples for depths < 8 (each row starts on a byte), one value per sample otherwise. */
  data: Uint8Array | Uint16Array;
  /** PLTE entries (RGB, or RGBA when tRNS gives alpha), for colour type 3. */
  palette?: number[][];
  /** tRNS colour key for grey (1 value) or RGB (3 values) images. */
  transparency?: Uint16Array;
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
/**
 * Compressed bytes handed to the inflater at a time: FIRST_STEP, doubling up to MAX_STEP. Deflate
 * expands at most 1032× per input byte, so the first step shows a bomb after at most ~1 MB of
 * output and no step can produce more than ~16.5 MB before the size check sees it, while steps this
 * large keep fflate's per-push buffer set-up out of the profile (4 KiB steps throughout cost more
 * than the inflate itself on a photo).
 */
const FIRST_STEP = 1024;
const MAX_STEP = 16 * 1024;

/** Bytes the zlib stream must inflate to: per scanline one filter byte plus the packed pixels. */
export function expectedPngDataSize(bytes: Uint8Array, header: ImageHeader): number {
  const bitsPerPixel = header.bitDepth * SAMPLES_PER_PIXEL[bytes[25]!]!;
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
 * PNG bytes → unfiltered samples. One pass over the chunks (CRC-checked), one inflate of the IDAT
 * stream straight into a buffer of exactly the size the header implies: a stream that inflates to
 * more is refused as soon as it passes that size (a decompression bomb never materialises), one
 * that inflates to less is a truncated file. The header has been read and checked already.
 */
export function readRawPng(
  bytes: Uint8Array,
  header: ImageHeader,
  onRows?: undefined,
  inflated?: Uint8Array,
): RawPng;
/**
 * Streaming form (non-interlaced only): hands the unfiltered rows to `onRows` in bands of up to
 * BAND_ROWS rows, top to bottom, as they inflate (each band a RawPng of its own height with the
 * palette/tRNS fields), so only a band of the picture is ever in memory. PLTE and tRNS must come
 * before the image data, as the PNG specification requires.
 */
export function readRawPng(
  bytes: Uint8Array,
  header: ImageHeader,
  onRows: (band: RawPng) => void,
  inflated?: Uint8Array,
): void;
/**
 * `inflated`: the image data already inflated elsewhere (png-inflate.ts: the runtime's native zlib,
 * exactly the header's size); the chunks are still walked and CRC-checked, nothing is inflated.
 */
export function readRawPng(
  bytes: Uint8Array,
  header: ImageHeader,
  onRows?: (band: RawPng) => void,
  inflated?: Uint8Array,
): RawPng | undefined {
  const colourType = bytes[25]!;
  const channels = SAMPLES_PER_PIXEL[colourType];
  if (channels === undefined) throw corrupt(`colour type ${colourType}`);
  const depth = header.bitDepth;
  const expected = expectedPngDataSize(bytes, header);
  const { width, height } = header;
  let palette: number[][] | undefined;
  let trns: Uint8Array | undefined;
  let produced = 0;
  let tooMuch = false;
  const given = inflated !== undefined;
  if (given && inflated!.length !== expected) throw new RangeError('pre-inflated PNG data of the wrong size');
  if (given) produced = expected;
  let streamed: RowBands | undefined;
  if (onRows) {
    if (header.progressive) throw new RangeError('interlaced PNGs cannot be streamed by rows');
    streamed = new RowBands(width, channels, depth, (n, samples) =>
      onRows({
        width,
        height: n,
        depth,
        channels,
        data: depth === 16 ? bigEndian16(samples) : samples,
        ...colourFields(colourType, channels, palette, trns),
      }),
    );
  } else {
    inflated ??= new Uint8Array(expected);
  }
  const inflater = new Unzlib((chunk) => {
    if (produced + chunk.length > expected) tooMuch = true;
    else if (streamed) streamed.push(chunk);
    else inflated!.set(chunk, produced);
    produced += chunk.length;
  });
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let sawEnd = false;
  let offset = 8;
  let step = FIRST_STEP;
  try {
    while (offset + 12 <= bytes.length) {
      const length = view.getUint32(offset);
      const start = offset + 8;
      if (start + length + 4 > bytes.length) break;
      if (crc32(bytes, offset + 4, start + length) !== view.getUint32(start + length)) {
        throw corrupt(`bad CRC in a ${chunkType(bytes, offset)} chunk`);
      }
      const type = chunkType(bytes, offset);
      if (type === 'IDAT') {
        if (given) {
          offset = start + length + 4;
          continue;
        }
        for (let i = start; i < start + length && !tooMuch; ) {
          const next = Math.min(i + step, start + length);
          inflater.push(bytes.subarray(i, next), false);
          i = next;
          step = Math.min(step * 2, MAX_STEP);
        }
        if (tooMuch) break;
      } else if (type === 'PLTE') {
        if (length % 3 !== 0 || length === 0) throw corrupt('PLTE length is not a multiple of 3');
        palette = [];
        for (let i = start; i < start + length; i += 3)
          palette.push([bytes[i]!, bytes[i + 1]!, bytes[i + 2]!]);
      } else if (type === 'tRNS') {
        trns = bytes.subarray(start, start + length);
      } else if (type === 'IEND') {
        sawEnd = true;
        break;
      }
      offset = start + length + 4;
    }
    if (!tooMuch && sawEnd && !given) inflater.push(new Uint8Array(0), true);
  } catch (e) {
    if (e instanceof EdgetuneError) throw e;
    throw corrupt(`bad compressed data (${e instanceof Error ? e.message : String(e)})`);
  }
  if (tooMuch) {
    throw corrupt(
      `image data inflates to more than the ${expected} bytes its ${header.width}×${header.height} header allows`,
    );
  }
  if (!sawEnd) throw new EdgetuneError('invalid_image', 'truncated PNG: the data ends before the IEND chunk');
  if (produced < expected) {
    throw new EdgetuneError(
      'invalid_image',
      `truncated PNG: image data has ${produced} of ${expected} bytes`,
    );
  }
  if (given) streamed?.push(inflated!);
  if (streamed) {
    streamed.flush();
    return undefined;
  }
  const samples = header.progressive
    ? deinterlace(inflated!, width, height, channels, depth)
    : unfilter(inflated!, 0, width, height, channels, depth);
  const data = depth === 16 ? bigEndian16(samples) : samples;
  return { width, height, depth, channels, data, ...colourFields(colourType, channels, palette, trns) };
}

/** PLTE (with tRNS alpha) or the tRNS colour key, as RawPng fields. */
function colourFields(
  colourType: number,
  channels: number,
  palette: number[][] | undefined,
  trns: Uint8Array | undefined,
): Pick<RawPng, 'palette' | 'transparency'> {
  if (colourType === 3) {
    if (!palette) throw corrupt('palette image without PLTE before its image data');
    if (!trns) return { palette };
    if (trns.length > palette.length) throw corrupt('tRNS has more entries than the palette');
    return { palette: palette.map((c, i) => [...c, i < trns.length ? trns[i]! : 255]) };
  }
  if (trns && (colourType === 0 || colourType === 2)) {
    if (trns.length !== channels * 2) throw corrupt('tRNS size does not match the colour type');
    const key = new Uint16Array(channels);
    for (let s = 0; s < channels; s++) key[s] = (trns[2 * s]! << 8) | trns[2 * s + 1]!;
    return { transparency: key };
  }
  return {};
}

/** Rows handed to the streaming reader. Tall enough to amortise the per-band work, small in bytes. */
export const BAND_ROWS = 16;

/** Collects inflated scanlines into bands of BAND_ROWS and unfilters each against the row above. */
class RowBands {
  private readonly stride: number;
  private readonly pending: Uint8Array;
  private filled = 0;
  private prev: Uint8Array | undefined;

  constructor(
    private readonly width: number,
    private readonly channels: number,
    private readonly depth: number,
    private readonly emit: (rows: number, samples: Uint8Array) => void,
  ) {
    this.stride = Math.ceil((width * channels * depth) / 8) + 1;
    this.pending = new Uint8Array(BAND_ROWS * this.stride);
  }

  push(chunk: Uint8Array): void {
    for (let i = 0; i < chunk.length; ) {
      const take = Math.min(chunk.length - i, this.pending.length - this.filled);
      this.pending.set(chunk.subarray(i, i + take), this.filled);
      this.filled += take;
      i += take;
      if (this.filled === this.pending.length) this.flush();
    }
  }

  /** Emits the whole rows collected so far (the last, shorter band at the end of the data). */
  flush(): void {
    const rows = Math.floor(this.filled / this.stride);
    if (rows === 0) return;
    const samples = unfilter(this.pending, 0, this.width, rows, this.channels, this.depth, this.prev);
    const rowBytes = this.stride - 1;
    this.prev = samples.slice((rows - 1) * rowBytes);
    this.filled = 0;
    this.emit(rows, samples);
  }
}

function chunkType(bytes: Uint8Array, offset: number): string {
  return String.fromCharCode(bytes[offset + 4]!, bytes[offset + 5]!, bytes[offset + 6]!, bytes[offset + 7]!);
}

function corrupt(detail: string): EdgetuneError {
  return new EdgetuneError('invalid_image', `corrupt PNG: ${detail}`);
}

/**
 * Reverses the scanline filters (PNG spec §9) of `height` rows starting at `at` in `src`: each row
 * is one filter-type byte plus packed samples; the predictors work on bytes, `bpp` bytes back
 * (at least 1 for sub-byte depths).
 */
export function unfilter(
  src: Uint8Array,
  at: number,
  width: number,
  height: number,
  channels: number,
  depth: number,
  prev?: Uint8Array,
): Uint8Array {
  const rowBytes = Math.ceil((width * channels * depth) / 8);
  const bpp = Math.max(1, (channels * depth) >> 3);
  // With `prev` (the unfiltered row above, when rows arrive in bands) it is row −1 of the output.
  const lead = prev ? rowBytes : 0;
  const out = new Uint8Array(lead + rowBytes * height);
  if (prev) out.set(prev.subarray(0, rowBytes));
  for (let y = 0; y < height; y++) {
    const s = at + y * (rowBytes + 1);
    const filter = src[s]!;
    const o = lead + y * rowBytes;
    const p = o - rowBytes;
    const first = y === 0 && !prev;
    switch (filter) {
      case 0:
        out.set(src.subarray(s + 1, s + 1 + rowBytes), o);
        break;
      case 1:
        for (let i = 0; i < rowBytes; i++) out[o + i] = src[s + 1 + i]! + (i >= bpp ? out[o + i - bpp]! : 0);
        break;
      case 2:
        for (let i = 0; i < rowBytes; i++) out[o + i] = src[s + 1 + i]! + (first ? 0 : out[p + i]!);
        break;
      case 3:
        for (let i = 0; i < rowBytes; i++) {
          const left = i >= bpp ? out[o + i - bpp]! : 0;
          const up = first ? 0 : out[p + i]!;
          out[o + i] = src[s + 1 + i]! + ((left + up) >> 1);
        }
        break;
      case 4:
        for (let i = 0; i < rowBytes; i++) {
          const a = i >= bpp ? out[o + i - bpp]! : 0;
          const b = first ? 0 : out[p + i]!;
          const c = first || i < bpp ? 0 : out[p + i - bpp]!;
          const pa = Math.abs(b - c);
          const pb = Math.abs(a - c);
          const pc = Math.abs(a + b - 2 * c);
          out[o + i] = src[s + 1 + i]! + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
        }
        break;
      default:
        throw corrupt(`unknown scanline filter ${filter}`);
    }
  }
  return prev ? out.subarray(lead) : out;
}

/** Adam7: each pass is a small filtered image of its own; its pixels are scattered into place (depth ≥ 8). */
function deinterlace(
  src: Uint8Array,
  width: number,
  height: number,
  channels: number,
  depth: number,
): Uint8Array {
  const bpp = (channels * depth) >> 3;
  const out = new Uint8Array(width * height * bpp);
  let at = 0;
  for (const [x0, y0, dx, dy] of ADAM7) {
    const w = Math.ceil(Math.max(0, width - x0) / dx);
    const h = Math.ceil(Math.max(0, height - y0) / dy);
    if (w === 0 || h === 0) continue;
    const pass = unfilter(src, at, w, h, channels, depth);
    at += h * (1 + w * bpp);
    for (let py = 0; py < h; py++) {
      for (let px = 0; px < w; px++) {
        const from = (py * w + px) * bpp;
        const to = ((y0 + py * dy) * width + x0 + px * dx) * bpp;
        for (let k = 0; k < bpp; k++) out[to + k] = pass[from + k]!;
      }
    }
  }
  return out;
}

export function bigEndian16(bytes: Uint8Array): Uint16Array {
  const out = new Uint16Array(bytes.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = (bytes[2 * i]! << 8) | bytes[2 * i + 1]!;
  return out;
}

const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** CRC-32 (ISO 3309, what PNG chunks carry) of bytes[from, to). */
function crc32(bytes: Uint8Array, from: number, to: number): number {
  let c = -1;
  for (let i = from; i < to; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
