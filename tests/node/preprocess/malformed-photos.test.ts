/**
 * Hostile and broken photos: every one is a clear EdgetuneError with a 4xx status, decided from
 * the header where possible, and never a hang (EXIF offset loops are never followed).
 */
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { isEdgetuneError } from '../../../shared/errors.ts';
import { decodeImage } from '../../../shared/preprocess/index.ts';
import { installNodeCodecs } from '../../../training/images/node-codecs.ts';
import { concat, readData } from './fixtures.ts';

function outcome(bytes: Uint8Array): string {
  try {
    const img = decodeImage(bytes);
    return `decoded ${img.width}×${img.height} o${img.orientation}`;
  } catch (e) {
    return isEdgetuneError(e) ? `${e.status} ${e.code}` : `raw ${String(e)}`;
  }
}

const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0));
const u16be = (n: number) => [(n >> 8) & 255, n & 255];
const u32le = (n: number) => [n & 255, (n >> 8) & 255, (n >> 16) & 255, (n >>> 24) & 255];
const u16le = (n: number) => [n & 255, (n >> 8) & 255];

/** A JPEG with an APP1 Exif segment holding `tiff` inserted right after SOI. */
function withExif(jpeg: Uint8Array, tiff: number[]): Uint8Array {
  const body = [...ascii('Exif\0\0'), ...tiff];
  return concat(jpeg.subarray(0, 2), [0xff, 0xe1, ...u16be(body.length + 2), ...body], jpeg.subarray(2));
}

/** Little-endian TIFF: IFD0 at `ifd` with one Orientation entry and `next` as its next-IFD offset. */
function tiff(ifd: number, orientation: number, next: number): number[] {
  return [
    ...ascii('II'),
    ...u16le(42),
    ...u32le(ifd),
    ...u16le(1),
    ...u16le(0x0112),
    ...u16le(3),
    ...u32le(1),
    ...u16le(orientation),
    0,
    0,
    ...u32le(next),
  ];
}

let jpeg: Uint8Array;
let webp: Uint8Array;
let gif: Uint8Array;

beforeAll(async () => {
  await installNodeCodecs();
  jpeg = readData('data/photos/hubble_deep_field.jpg');
  const png = readData('data/photos/chelsea.png');
  webp = new Uint8Array(await sharp(png).webp({ quality: 80 }).toBuffer());
  gif = new Uint8Array(await sharp(png).gif().toBuffer());
});

describe('malformed photos → 4xx, no hang', () => {
  it('truncated and corrupt JPEG, WebP and GIF', () => {
    expect(outcome(jpeg.subarray(0, jpeg.length >> 1))).toBe('400 invalid_image');
    expect(outcome(webp.subarray(0, webp.length >> 1))).toBe('400 invalid_image');
    expect(outcome(gif.subarray(0, gif.length >> 1))).toBe('400 invalid_image');
    // A Huffman table whose code counts overflow their lengths.
    const dht = jpeg.findIndex((v, i) => v === 0xff && jpeg[i + 1] === 0xc4);
    const badTable = jpeg.slice();
    badTable.fill(0xff, dht + 5, dht + 5 + 16);
    expect(outcome(badTable)).toBe('400 invalid_image');
    // WebP whose VP8 bitstream is overwritten after the frame header.
    const badWebp = webp.slice();
    badWebp.fill(0x55, 40, Math.min(badWebp.length, 400));
    expect(outcome(badWebp)).toMatch(/^(400 invalid_image|decoded 451×300 o1)$/);
    // GIF whose image data is cut off inside the LZW stream but keeps its trailer byte.
    const badGif = concat(gif.subarray(0, gif.length >> 2), [0x3b]);
    expect(outcome(badGif)).toBe('400 invalid_image');
  });

  it('EXIF: offsets outside the block are refused; an IFD loop is never followed', () => {
    expect(outcome(withExif(jpeg, tiff(0xfffff0, 6, 0)))).toBe('400 invalid_image');
    expect(outcome(withExif(jpeg, [...ascii('II'), ...u16le(42), ...u32le(8), ...u16le(5000)]))).toBe(
      '400 invalid_image',
    );
    expect(outcome(withExif(jpeg, [...ascii('XX'), 0, 0]))).toBe('400 invalid_image');
    // IFD0 whose next-IFD pointer points back at itself: orientation still read, once.
    expect(outcome(withExif(jpeg, tiff(8, 6, 8)))).toBe('decoded 872×1000 o6');
    // Orientation values outside 1–8 mean upright.
    expect(outcome(withExif(jpeg, tiff(8, 99, 0)))).toBe('decoded 1000×872 o1');
  });

  it('100000×100000 and zero-size headers are refused before decoding', () => {
    const vp8x = (w: number, h: number) =>
      Uint8Array.from([
        ...ascii('RIFF'),
        ...u32le(22),
        ...ascii('WEBPVP8X'),
        ...u32le(10),
        0,
        0,
        0,
        0,
        (w - 1) & 255,
        ((w - 1) >> 8) & 255,
        ((w - 1) >> 16) & 255,
        (h - 1) & 255,
        ((h - 1) >> 8) & 255,
        ((h - 1) >> 16) & 255,
      ]);
    expect(outcome(vp8x(100_000, 100_000))).toBe('413 image_too_large');
    const gifHead = (w: number, h: number) =>
      Uint8Array.from([...ascii('GIF89a'), ...u16le(w), ...u16le(h), 0, 0, 0, 0x3b]);
    expect(outcome(gifHead(65535, 65535))).toBe('413 image_too_large');
    expect(outcome(gifHead(0, 10))).toBe('400 invalid_image');
    const sof = jpeg.findIndex((v, i) => v === 0xff && jpeg[i + 1] === 0xc0);
    const huge = jpeg.slice();
    huge.set([0xff, 0xff, 0xff, 0xff], sof + 5);
    expect(outcome(huge)).toBe('413 image_too_large');
    const zero = jpeg.slice();
    zero.set([0, 0], sof + 7);
    expect(outcome(zero)).toBe('400 invalid_image');
  });
});
