import { EdgetuneError } from '../errors.ts';
import type { ImageFormat, ImageLimits } from './types.ts';
import { DEFAULT_MAX_PIXELS, MAX_SIDE } from './types.ts';

/**
 * What the first bytes of an image say, read without decompressing anything, so that the edge
 * can refuse oversized images (decompression bombs) before a decoder allocates memory for them.
 */
export interface ImageHeader {
  format: ImageFormat;
  width: number;
  height: number;
  /** Colour channels once decoded, alpha not counted: 1 = grey, 3 = colour (palette, RGB, YCbCr, CMYK). */
  channels: 1 | 3;
  /** PNG colour types 4 and 6 (an alpha channel; tRNS transparency is only known after decoding). */
  alpha: boolean;
  /** Bits per sample as stored (PNG 1–16; JPEG 8). */
  bitDepth: number;
  /** PNG Adam7 interlacing or progressive JPEG. */
  progressive: boolean;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const JPEG_SIGNATURE = [0xff, 0xd8, 0xff];

/** ISO-BMFF brands (the `ftyp` box's major brand) of HEIF stills from phone cameras. */
const HEIC_BRANDS = new Set(['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx', 'mif1', 'msf1']);

/** Formats we recognise only to name them in the 415 answer, with a hint where one helps. */
const OTHER_FORMATS: { name: string; test: (b: Uint8Array) => boolean; hint?: string }[] = [
  {
    name: 'HEIC',
    test: (b) => ascii(b, 4, 4) === 'ftyp' && HEIC_BRANDS.has(ascii(b, 8, 4)),
    hint: 'send JPEG instead (iPhone: Settings › Camera › Formats › Most Compatible, or export as JPEG)',
  },
  {
    name: 'AVIF',
    test: (b) => ascii(b, 4, 4) === 'ftyp' && (ascii(b, 8, 4) === 'avif' || ascii(b, 8, 4) === 'avis'),
    hint: 'send JPEG or PNG instead',
  },
  { name: 'GIF', test: (b) => ascii(b, 0, 4) === 'GIF8' },
  { name: 'WebP', test: (b) => ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP' },
  { name: 'BMP', test: (b) => ascii(b, 0, 2) === 'BM' },
  { name: 'TIFF', test: (b) => ascii(b, 0, 4) === 'II*\0' || ascii(b, 0, 4) === 'MM\0*' },
  { name: 'AVIF/HEIF', test: (b) => ascii(b, 4, 4) === 'ftyp' },
  {
    name: 'JPEG 2000',
    test: (b) => ascii(b, 4, 8) === 'jP  \r\n\x87\n' || startsWith(b, [0xff, 0x4f, 0xff]),
  },
  { name: 'ICO', test: (b) => startsWith(b, [0, 0, 1, 0]) },
  { name: 'SVG/XML/HTML', test: (b) => /^\s*</.test(ascii(b, 0, 16)) },
];

function ascii(b: Uint8Array, offset: number, length: number): string {
  let s = '';
  for (let i = offset; i < Math.min(b.length, offset + length); i++) s += String.fromCharCode(b[i]!);
  return s;
}

function startsWith(b: Uint8Array, prefix: readonly number[]): boolean {
  if (b.length < prefix.length) return false;
  return prefix.every((v, i) => b[i] === v);
}

/** A strict prefix of a known signature: the upload was cut short, not of another format. */
function isTruncatedSignature(b: Uint8Array, signature: readonly number[]): boolean {
  return b.length < signature.length && b.every((v, i) => signature[i] === v);
}

function invalid(message: string): EdgetuneError {
  return new EdgetuneError('invalid_image', message);
}

/** PNG or JPEG from the magic bytes; anything else is a 415 that names the format when it can. */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat {
  if (startsWith(bytes, PNG_SIGNATURE)) return 'png';
  if (startsWith(bytes, JPEG_SIGNATURE)) return 'jpeg';
  if (bytes.length === 0) throw invalid('empty image: no bytes were sent');
  if (isTruncatedSignature(bytes, PNG_SIGNATURE) || isTruncatedSignature(bytes, JPEG_SIGNATURE)) {
    throw invalid(`truncated image: only ${bytes.length} bytes`);
  }
  const other = OTHER_FORMATS.find((f) => f.test(bytes));
  throw new EdgetuneError(
    'unsupported_media_type',
    other
      ? `unsupported image format ${other.name}: ${other.hint ?? 'send PNG or JPEG'}`
      : 'unrecognised image data: send PNG or JPEG',
  );
}

/** Reads format, dimensions and channel count from the header only (PNG IHDR, JPEG SOFn). */
export function readImageHeader(bytes: Uint8Array): ImageHeader {
  const format = sniffImageFormat(bytes);
  return format === 'png' ? readPngHeader(bytes) : readJpegHeader(bytes);
}

/** Valid bit depths per PNG colour type (PNG spec, table 11.1). */
const PNG_DEPTHS: Record<number, readonly number[]> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};

function readPngHeader(b: Uint8Array): ImageHeader {
  // Signature (8) + IHDR length (4) + "IHDR" (4) + 13 bytes of data; the CRC is checked by the decoder.
  if (b.length < 33) throw invalid(`truncated PNG: ${b.length} bytes, the header alone needs 33`);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (view.getUint32(8) !== 13 || ascii(b, 12, 4) !== 'IHDR') {
    throw invalid('corrupt PNG: the first chunk is not a 13-byte IHDR');
  }
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  const bitDepth = b[24]!;
  const colourType = b[25]!;
  const interlace = b[28]!;
  if (width === 0 || height === 0 || width > 0x7fffffff || height > 0x7fffffff) {
    throw invalid(`corrupt PNG: impossible dimensions ${width}×${height}`);
  }
  const depths = PNG_DEPTHS[colourType];
  if (!depths) throw invalid(`corrupt PNG: unknown colour type ${colourType}`);
  if (!depths.includes(bitDepth)) {
    throw invalid(`corrupt PNG: bit depth ${bitDepth} is not allowed for colour type ${colourType}`);
  }
  if (b[26] !== 0 || b[27] !== 0 || interlace > 1) {
    throw invalid('corrupt PNG: unknown compression, filter or interlace method');
  }
  return {
    format: 'png',
    width,
    height,
    channels: colourType === 0 || colourType === 4 ? 1 : 3,
    alpha: colourType === 4 || colourType === 6,
    bitDepth,
    progressive: interlace === 1,
  };
}

/**
 * Walks the JPEG marker segments up to the first SOFn. Only the baseline, extended and progressive
 * Huffman processes with 8-bit samples are decodable here (what jpeg-js implements and what cameras
 * and browsers write); lossless, hierarchical and arithmetic-coded JPEGs are refused with a 415.
 */
function readJpegHeader(b: Uint8Array): ImageHeader {
  let offset = 2; // after SOI
  for (;;) {
    if (offset >= b.length) throw invalid('truncated JPEG: no frame header (SOF) before the end of the data');
    if (b[offset] !== 0xff) throw invalid(`corrupt JPEG: expected a marker at byte ${offset}`);
    while (offset < b.length && b[offset] === 0xff) offset++; // fill bytes
    if (offset >= b.length) throw invalid('truncated JPEG: the data ends inside a marker');
    const marker = b[offset++]!;
    // Markers without a length field.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;
    if (marker === 0xd8 || marker === 0xd9 || marker === 0xda || marker === 0x00) {
      throw invalid(`corrupt JPEG: marker 0xFF${hex(marker)} before the frame header (SOF)`);
    }
    if (offset + 2 > b.length) throw invalid('truncated JPEG: the data ends inside a segment length');
    const length = (b[offset]! << 8) | b[offset + 1]!;
    if (length < 2) throw invalid(`corrupt JPEG: segment 0xFF${hex(marker)} has length ${length}`);
    if (isSof(marker)) return readSof(b, offset, length, marker);
    offset += length;
  }
}

function isSof(marker: number): boolean {
  // C4 (DHT), C8 (JPG extension) and CC (DAC) share the range but are not frame headers.
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

function hex(n: number): string {
  return n.toString(16).toUpperCase().padStart(2, '0');
}

function readSof(b: Uint8Array, offset: number, length: number, marker: number): ImageHeader {
  if (offset + 8 > b.length) throw invalid('truncated JPEG: the data ends inside the frame header');
  if (marker !== 0xc0 && marker !== 0xc1 && marker !== 0xc2) {
    const kind = marker === 0xc3 ? 'lossless' : marker >= 0xc9 ? 'arithmetic-coded' : 'hierarchical';
    throw new EdgetuneError(
      'unsupported_media_type',
      `unsupported JPEG process (${kind}, SOF 0xFF${hex(marker)}): send a baseline or progressive JPEG or a PNG`,
    );
  }
  const precision = b[offset + 2]!;
  const height = (b[offset + 3]! << 8) | b[offset + 4]!;
  const width = (b[offset + 5]! << 8) | b[offset + 6]!;
  const components = b[offset + 7]!;
  if (length < 8 + 3 * components) throw invalid('corrupt JPEG: frame header shorter than its components');
  if (precision !== 8) {
    throw new EdgetuneError('unsupported_media_type', `unsupported JPEG sample precision ${precision} bits`);
  }
  if (height === 0) {
    throw new EdgetuneError(
      'unsupported_media_type',
      'unsupported JPEG: height defined later by a DNL marker',
    );
  }
  if (width === 0) throw invalid('corrupt JPEG: width 0');
  if (components !== 1 && components !== 3 && components !== 4) {
    throw new EdgetuneError(
      'unsupported_media_type',
      `unsupported JPEG with ${components} colour components`,
    );
  }
  return {
    format: 'jpeg',
    width,
    height,
    channels: components === 1 ? 1 : 3,
    alpha: false,
    bitDepth: 8,
    progressive: marker === 0xc2,
  };
}

/**
 * Refuses an image whose header announces more than the limits allow (413), before any
 * decompression. Also checks the encoded size when `maxBytes` is set.
 */
export function checkImageLimits(header: ImageHeader, byteLength: number, limits: ImageLimits = {}): void {
  const maxPixels = limits.maxPixels ?? DEFAULT_MAX_PIXELS;
  const maxWidth = limits.maxWidth ?? MAX_SIDE;
  const maxHeight = limits.maxHeight ?? MAX_SIDE;
  if (limits.maxBytes !== undefined && byteLength > limits.maxBytes) {
    throw new EdgetuneError(
      'payload_too_large',
      `image is ${byteLength} bytes; the limit is ${limits.maxBytes}`,
    );
  }
  const { width, height } = header;
  if (width > maxWidth || height > maxHeight || width * height > maxPixels) {
    throw new EdgetuneError(
      'image_too_large',
      `image is ${width}×${height} (${width * height} pixels); the limit is ${maxWidth}×${maxHeight} and ${maxPixels} pixels`,
    );
  }
}
