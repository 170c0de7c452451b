import { encode as encodePng } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { EdgetuneError } from '../../../shared/errors.ts';
import { checkImageLimits, decodeImage, readImageHeader } from '../../../shared/preprocess/index.ts';
import { concat, ihdr, jpegHead, PNG_SIGNATURE, pngChunk, readData } from './fixtures.ts';

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof EdgetuneError) return e.code;
    return `not an EdgetuneError: ${String(e)}`;
  }
  return 'no error';
}

describe('readImageHeader', () => {
  it('reads the shipped photos without decoding them', () => {
    expect(readImageHeader(readData('data/photos/chelsea.png'))).toEqual({
      format: 'png',
      width: 451,
      height: 300,
      channels: 3,
      alpha: false,
      bitDepth: 8,
      progressive: false,
    });
    expect(readImageHeader(readData('data/photos/hubble_deep_field.jpg'))).toMatchObject({
      format: 'jpeg',
      width: 1000,
      height: 872,
      channels: 3,
      progressive: false,
    });
    expect(readImageHeader(readData('data/opencv-digits/digits.png'))).toMatchObject({
      width: 2000,
      height: 1000,
      channels: 1,
    });
  });

  it('reads every PNG colour type, depth and interlace flag', () => {
    const grey16 = encodePng({ width: 3, height: 2, channels: 1, depth: 16, data: new Uint16Array(6) });
    expect(readImageHeader(grey16)).toMatchObject({ channels: 1, alpha: false, bitDepth: 16 });
    const ga = encodePng({ width: 3, height: 2, channels: 2, data: new Uint8Array(12) });
    expect(readImageHeader(ga)).toMatchObject({ channels: 1, alpha: true, bitDepth: 8 });
    const rgba = encodePng(
      { width: 5, height: 4, channels: 4, data: new Uint8Array(80) },
      { interlace: 'Adam7' },
    );
    expect(readImageHeader(rgba)).toMatchObject({
      width: 5,
      height: 4,
      channels: 3,
      alpha: true,
      progressive: true,
    });
    const palette = concat(PNG_SIGNATURE, ihdr(7, 9, 4, 3));
    expect(readImageHeader(palette)).toMatchObject({ width: 7, height: 9, channels: 3, bitDepth: 4 });
  });

  it('reads JPEG frame headers after other segments: grey, progressive, CMYK', () => {
    expect(readImageHeader(jpegHead(0xc0, 640, 480, 1))).toMatchObject({
      width: 640,
      height: 480,
      channels: 1,
    });
    expect(readImageHeader(jpegHead(0xc2, 33, 65535, 3))).toMatchObject({ height: 65535, progressive: true });
    expect(readImageHeader(jpegHead(0xc1, 10, 20, 4))).toMatchObject({ channels: 3 });
    // Fill bytes before a marker are allowed.
    const filled = jpegHead(0xc0, 8, 8, 3);
    const withFill = concat(filled.subarray(0, 2), [0xff, 0xff], filled.subarray(2));
    expect(readImageHeader(withFill)).toMatchObject({ width: 8, height: 8 });
  });

  it('refuses truncated and corrupt headers with invalid_image', () => {
    const png = readData('data/photos/chelsea.png');
    const jpg = readData('data/photos/hubble_deep_field.jpg');
    expect(codeOf(() => readImageHeader(new Uint8Array(0)))).toBe('invalid_image');
    expect(codeOf(() => readImageHeader(png.subarray(0, 4)))).toBe('invalid_image');
    expect(codeOf(() => readImageHeader(png.subarray(0, 20)))).toBe('invalid_image');
    expect(codeOf(() => readImageHeader(jpg.subarray(0, 2)))).toBe('invalid_image');
    expect(codeOf(() => readImageHeader(jpg.subarray(0, 100)))).toBe('invalid_image');
    expect(codeOf(() => readImageHeader(jpegHead(0xc0, 8, 8).subarray(0, 25)))).toBe('invalid_image');
    expect(codeOf(() => readImageHeader(concat(PNG_SIGNATURE, pngChunk('IHDX', new Uint8Array(13)))))).toBe(
      'invalid_image',
    );
    expect(codeOf(() => readImageHeader(concat(PNG_SIGNATURE, ihdr(0, 5))))).toBe('invalid_image');
    expect(codeOf(() => readImageHeader(concat(PNG_SIGNATURE, ihdr(5, 5, 16, 3))))).toBe('invalid_image'); // 16-bit palette
    expect(codeOf(() => readImageHeader(concat(PNG_SIGNATURE, ihdr(5, 5, 8, 5))))).toBe('invalid_image'); // colour type 5
    expect(codeOf(() => readImageHeader(jpegHead(0xc0, 0, 8)))).toBe('invalid_image');
    // SOS before any frame header.
    expect(codeOf(() => readImageHeader(Uint8Array.from([0xff, 0xd8, 0xff, 0xda, 0, 2])))).toBe(
      'invalid_image',
    );
    // Garbage where a marker should be.
    expect(
      codeOf(() => readImageHeader(Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 4, 1, 2, 0x12, 0x34]))),
    ).toBe('invalid_image');
  });

  it('answers 415 for other formats and undecodable JPEG processes', () => {
    const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
    // GIF and WebP are decoded now: these cut-off headers are corrupt uploads, not other formats.
    expect(codeOf(() => readImageHeader(ascii('GIF89a\x01\x00\x01\x00')))).toBe('invalid_image');
    expect(codeOf(() => readImageHeader(ascii('RIFF\x10\x00\x00\x00WEBPVP8 ')))).toBe('invalid_image');
    for (const bytes of [
      ascii('BM\x00\x00\x00\x00\x00\x00'),
      ascii('II*\x00\x08\x00\x00\x00'),
      ascii('\x00\x00\x00\x1cftypavif'),
      ascii('<svg xmlns="http://www.w3.org/2000/svg"/>'),
      ascii('hello, world'),
      jpegHead(0xc3, 8, 8), // lossless
      jpegHead(0xc9, 8, 8), // arithmetic
      jpegHead(0xc5, 8, 8), // hierarchical
      jpegHead(0xc0, 8, 8, 3, 12), // 12-bit samples
      jpegHead(0xc0, 8, 0), // height from DNL
      jpegHead(0xc0, 8, 8, 2),
    ]) {
      expect(codeOf(() => readImageHeader(bytes))).toBe('unsupported_media_type');
    }
    expect(() => readImageHeader(ascii('\x00\x00\x00\x1cftypavif'))).toThrow(/AVIF.*send JPEG/);
    expect(() => readImageHeader(ascii('\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic'))).toThrow(
      /HEIC.*send JPEG/,
    );
    expect(() => readImageHeader(ascii('BM\x00\x00\x00\x00\x00\x00'))).toThrow(/BMP/);
  });
});

describe('size limits are applied from the header, before decompression', () => {
  it('refuses huge dimensions without allocating', () => {
    // A 100000×100000 PNG header followed by nothing: 10^10 pixels would need 30 GB.
    const bomb = concat(PNG_SIGNATURE, ihdr(100_000, 100_000, 8, 2), pngChunk('IEND', []));
    const header = readImageHeader(bomb);
    expect(header).toMatchObject({ width: 100_000, height: 100_000 });
    expect(codeOf(() => checkImageLimits(header, bomb.length))).toBe('image_too_large');
    expect(codeOf(() => decodeImage(bomb))).toBe('image_too_large');
    expect(codeOf(() => decodeImage(jpegHead(0xc0, 65535, 65535)))).toBe('image_too_large');
    try {
      decodeImage(bomb);
    } catch (e) {
      expect((e as EdgetuneError).status).toBe(413);
    }
  });

  it('applies maxPixels, maxWidth, maxHeight and maxBytes exactly', () => {
    const h = readImageHeader(concat(PNG_SIGNATURE, ihdr(300, 200)));
    expect(codeOf(() => checkImageLimits(h, 10, { maxPixels: 60_000 }))).toBe('no error');
    expect(codeOf(() => checkImageLimits(h, 10, { maxPixels: 59_999 }))).toBe('image_too_large');
    expect(codeOf(() => checkImageLimits(h, 10, { maxWidth: 299 }))).toBe('image_too_large');
    expect(codeOf(() => checkImageLimits(h, 10, { maxHeight: 200 }))).toBe('no error');
    expect(codeOf(() => checkImageLimits(h, 10, { maxHeight: 199 }))).toBe('image_too_large');
    expect(codeOf(() => checkImageLimits(h, 1001, { maxBytes: 1000 }))).toBe('payload_too_large');
  });
});
