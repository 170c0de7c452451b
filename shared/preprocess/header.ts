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

/** Formats we recognise only to name them in the 415 answer. */
const OTHER_FORMATS: { name: string; test: (b: Uint8Array) => boolean }[] = [
  { name: 'BMP', test: (b) => ascii(b, 0, 2) === 'BM' },
  { name: 'TIFF', test: (b) => ascii(b, 0, 4) === 'II*\0' || ascii(b, 0, 4) === 'MM\0*' },
  { name: 'JPEG XL', test: (b) => startsWith(b, [0xff, 0x0a]) || ascii(b, 4, 8) === 'JXL \r\n\x87\n' },
  {
    name: 'JPEG 2000',
    test: (b) => ascii(b, 4, 8) === 'jP  \r\n\x87\n' || startsWith(b, [0xff, 0x4f, 0xff]),
  },
  { name: 'ICO', test: (b) => startsWith(b, [0, 0, 1, 0]) },
  { name: 'SVG/XML/HTML', test: (b) => /^\s*</.test(ascii(b, 0, 16)) },
];

/** What to send instead, for the formats that are recognised but not decoded. */
const SEND_INSTEAD = 'send JPEG, PNG, WebP or GIF';

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

const AVIF_BRANDS = new Set(['avif', 'avis']);
const HEIF_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'hevm', 'hevs', 'mif1', 'msf1']);

/**
 * ISO-BMFF still images (`ftyp` box first): AVIF when the major or any compatible brand is an AVIF
 * brand (an AVIF may declare major brand mif1), HEIC/HEIF for the HEIF brands, else undefined.
 */
function isoBmffFormat(b: Uint8Array): 'avif' | 'heic' | undefined {
  if (b.length < 12 || ascii(b, 4, 4) !== 'ftyp') return undefined;
  const size = Math.min(b.length, new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0));
  const brands = [ascii(b, 8, 4)];
  for (let o = 16; o + 4 <= size; o += 4) brands.push(ascii(b, o, 4));
  if (brands.some((x) => AVIF_BRANDS.has(x))) return 'avif';
  if (brands.some((x) => HEIF_BRANDS.has(x))) return 'heic';
  return undefined;
}

/**
 * The image format from its magic bytes alone (the declared content type is not trusted):
 * PNG, JPEG, WebP (RIFF…WEBP), GIF (GIF87a/GIF89a), AVIF and HEIC (ISO-BMFF `ftyp` brands).
 * AVIF and HEIC are recognised so that callers can answer them with a precise 415 (readImageHeader
 * does); anything else is a 415 that names the format when it can, empty or cut-off signatures
 * are a 400.
 */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat {
  if (startsWith(bytes, PNG_SIGNATURE)) return 'png';
  if (startsWith(bytes, JPEG_SIGNATURE)) return 'jpeg';
  if (ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 4) === 'WEBP') return 'webp';
  if (ascii(bytes, 0, 6) === 'GIF87a' || ascii(bytes, 0, 6) === 'GIF89a') return 'gif';
  const iso = isoBmffFormat(bytes);
  if (iso) return iso;
  if (bytes.length === 0) throw invalid('empty image: no bytes were sent');
  if (isTruncatedSignature(bytes, PNG_SIGNATURE) || isTruncatedSignature(bytes, JPEG_SIGNATURE)) {
    throw invalid(`truncated image: only ${bytes.length} bytes`);
  }
  const other = OTHER_FORMATS.find((f) => f.test(bytes));
  throw new EdgetuneError(
    'unsupported_media_type',
    other
      ? `unsupported image format ${other.name}: ${SEND_INSTEAD}`
      : `unrecognised image data (${bytes.length} bytes): ${SEND_INSTEAD}`,
  );
}

/**
 * Reads format, dimensions and channel count from the header only (PNG IHDR, JPEG SOFn, WebP
 * VP8/VP8L/VP8X, GIF logical screen). AVIF and HEIC are refused here with a 415 that says what to
 * send: no decoder for them fits the Worker's size budget.
 */
export function readImageHeader(bytes: Uint8Array): ImageHeader {
  const format = sniffImageFormat(bytes);
  switch (format) {
    case 'png':
      return readPngHeader(bytes);
    case 'jpeg':
      return readJpegHeader(bytes);
    case 'webp':
      return readWebpHeader(bytes);
    case 'gif':
      return readGifHeader(bytes);
    case 'avif':
      throw new EdgetuneError(
        'unsupported_media_type',
        `AVIF images are not decoded here: ${SEND_INSTEAD} (a browser can re-encode with canvas.toBlob('image/jpeg'))`,
      );
    case 'heic':
      throw new EdgetuneError(
        'unsupported_media_type',
        'HEIC/HEIF images are not decoded here: send JPEG (on an iPhone: Settings → Camera → Formats → Most Compatible; uploads through a browser file picker are usually converted to JPEG already)',
      );
  }
}

function readWebpHeader(b: Uint8Array): ImageHeader {
  if (b.length < 30) throw invalid(`truncated WebP: ${b.length} bytes, the header alone needs 30`);
  const chunk = ascii(b, 12, 4);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let width: number;
  let height: number;
  let alpha = false;
  if (chunk === 'VP8X') {
    alpha = (b[20]! & 0x10) !== 0;
    width = 1 + (b[24]! | (b[25]! << 8) | (b[26]! << 16));
    height = 1 + (b[27]! | (b[28]! << 8) | (b[29]! << 16));
  } else if (chunk === 'VP8 ') {
    if (b[23] !== 0x9d || b[24] !== 0x01 || b[25] !== 0x2a) throw invalid('corrupt WebP: bad VP8 start code');
    width = view.getUint16(26, true) & 0x3fff;
    height = view.getUint16(28, true) & 0x3fff;
  } else if (chunk === 'VP8L') {
    if (b[20] !== 0x2f) throw invalid('corrupt WebP: bad VP8L signature');
    const bits = view.getUint32(21, true);
    width = (bits & 0x3fff) + 1;
    height = ((bits >>> 14) & 0x3fff) + 1;
    alpha = ((bits >>> 28) & 1) === 1;
  } else {
    throw invalid(`corrupt WebP: unknown first chunk "${chunk}"`);
  }
  if (width === 0 || height === 0) throw invalid(`corrupt WebP: impossible dimensions ${width}×${height}`);
  return { format: 'webp', width, height, channels: 3, alpha, bitDepth: 8, progressive: false };
}

function readGifHeader(b: Uint8Array): ImageHeader {
  if (b.length < 13) throw invalid(`truncated GIF: ${b.length} bytes, the header alone needs 13`);
  const width = b[6]! | (b[7]! << 8);
  const height = b[8]! | (b[9]! << 8);
  if (width === 0 || height === 0) throw invalid(`corrupt GIF: impossible dimensions ${width}×${height}`);
  return { format: 'gif', width, height, channels: 3, alpha: false, bitDepth: 8, progressive: false };
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
 * Huffman processes with 8-bit samples are decodable here (what jpeg/decode.ts implements and what cameras
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
 * decompression. Pixels are counted as they will be materialised: a JPEG decoded at 1/`scale`
 * (shrink-on-load) costs width × height / scale², so a 48 MP phone photo bound for a 224×224
 * model (scale 8, 0.75 MP decoded) passes. A PNG streamed row by row into the resize
 * (`streamedWidth` = the resize's output width, png-stream.ts) holds only its horizontally reduced
 * rows: min(width, streamedWidth) × height. Also checks the encoded size when `maxBytes` is set.
 */
export function checkImageLimits(
  header: ImageHeader,
  byteLength: number,
  limits: ImageLimits = {},
  scale = 1,
  streamedWidth?: number,
): void {
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
  const decoded =
    streamedWidth === undefined
      ? Math.ceil(width / scale) * Math.ceil(height / scale)
      : Math.min(width, streamedWidth) * height;
  // Streaming bounds memory, not work: every pixel is still inflated and unfiltered.
  const tooMuchWork = streamedWidth !== undefined && width * height > DEFAULT_MAX_PIXELS;
  if (width > maxWidth || height > maxHeight || decoded > maxPixels || tooMuchWork) {
    const how =
      streamedWidth !== undefined
        ? `, ${decoded} pixels held at once when streamed into the resize`
        : scale > 1
          ? `, ${decoded} pixels once decoded at 1/${scale}`
          : '';
    throw new EdgetuneError(
      'image_too_large',
      `image is ${width}×${height} (${width * height} pixels${how}); the limit is ${maxWidth}×${maxHeight} and ${maxPixels} decoded pixels` +
        (streamedWidth !== undefined ? ` (${DEFAULT_MAX_PIXELS} pixels in all for a streamed PNG)` : ''),
    );
  }
}
