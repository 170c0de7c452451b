import { encode as encodePng } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { EdgetuneError } from '../../../shared/errors.ts';
import { type PreprocessSpec, PreprocessSpecSchema } from '../../../shared/manifest/preprocess.ts';
import {
  decodeImage,
  imagesToTensor,
  imageToTensor,
  preprocessBytes,
  type RawImage,
  resizeBilinear,
  rgbToGrey,
  tensorDims,
} from '../../../shared/preprocess/index.ts';
import { readData } from './fixtures.ts';

const spec = (
  s: Partial<PreprocessSpec> & Pick<PreprocessSpec, 'width' | 'height' | 'channels' | 'layout'>,
) => PreprocessSpecSchema.parse(s);

// 2×2 RGB: red, green / blue, white.
const rgb: RawImage = {
  width: 2,
  height: 2,
  channels: 3,
  data: Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255]),
};

describe('imageToTensor', () => {
  it('lays out NCHW as planes and NHWC interleaved, with per-channel mean/std', () => {
    const base = { width: 2, height: 2, channels: 3 as const, mean: [0.5, 0, 1], std: [0.5, 1, 2] };
    const nchw = imageToTensor(rgb, spec({ ...base, layout: 'NCHW' }));
    // (v/255 − mean)/std: R plane, G plane, B plane.
    expect(Array.from(nchw)).toEqual([1, -1, -1, 1, 0, 1, 0, 1, -0.5, -0.5, 0, 0]);
    const nhwc = imageToTensor(rgb, spec({ ...base, layout: 'NHWC' }));
    expect(Array.from(nhwc)).toEqual([1, 0, -0.5, -1, 1, -0.5, -1, 0, 0, 1, 1, 0]);
    expect(tensorDims(spec({ ...base, layout: 'NCHW' }), 4)).toEqual([4, 3, 2, 2]);
    expect(tensorDims(spec({ ...base, layout: 'NHWC' }))).toEqual([1, 2, 2, 3]);
  });

  it('converts colour to grey with rounded BT.601 luma, and grey to 3 channels by repetition', () => {
    expect(Array.from(rgbToGrey(rgb).data)).toEqual([76, 150, 29, 255]); // 76.245, 149.685, 29.07, 255
    const greySpec = spec({ width: 2, height: 2, channels: 1, layout: 'NCHW', scale: 255 });
    expect(Array.from(imageToTensor(rgb, greySpec))).toEqual([76, 150, 29, 255]);
    const grey: RawImage = { width: 2, height: 1, channels: 1, data: Uint8Array.from([10, 200]) };
    const three = imageToTensor(grey, spec({ width: 2, height: 1, channels: 3, layout: 'NHWC', scale: 255 }));
    expect(Array.from(three)).toEqual([10, 10, 10, 200, 200, 200]);
    // Grey stored as RGB gives exactly the same tensor as grey stored as one channel.
    const asRgb = decodeImage(encodePng({ width: 2, height: 1, channels: 1, data: grey.data }));
    for (const channels of [1, 3] as const) {
      const s = spec({ width: 5, height: 3, channels, layout: 'NCHW', mean: [0.1], std: [0.3] });
      expect(imageToTensor(asRgb, s)).toEqual(imageToTensor(grey, s));
    }
  });

  it('inverts, scales and resizes in the documented order', () => {
    const grey: RawImage = { width: 2, height: 1, channels: 1, data: Uint8Array.from([0, 100]) };
    const s = spec({
      width: 4,
      height: 1,
      channels: 1,
      layout: 'NCHW',
      invert: true,
      scale: 2,
      mean: [1],
      std: [1],
    });
    // resized 0, 25, 75, 100 → inverted 255, 230, 180, 155 → v/255·2 − 1
    const expected = [255, 230, 180, 155].map((v) => Math.fround((v / 255) * 2 - 1));
    expect(Array.from(imageToTensor(grey, s))).toEqual(expected);
  });

  it('fills batches at the right offsets', () => {
    const s = spec({ width: 3, height: 2, channels: 3, layout: 'NCHW' });
    const a = imageToTensor(rgb, s);
    const b = imageToTensor({ width: 1, height: 1, channels: 1, data: Uint8Array.from([51]) }, s);
    const batch = imagesToTensor([rgb, { width: 1, height: 1, channels: 1, data: Uint8Array.from([51]) }], s);
    expect(batch.length).toBe(36);
    expect(batch.subarray(0, 18)).toEqual(a);
    expect(batch.subarray(18)).toEqual(b);
    expect(Array.from(b)).toEqual(new Array(18).fill(Math.fround(0.2)));
  });

  it('refuses mean/std that do not fit the channels, and malformed images', () => {
    const s = spec({ width: 2, height: 2, channels: 3, layout: 'NCHW', mean: [0, 0] });
    expect(() => imageToTensor(rgb, s)).toThrow(EdgetuneError);
    expect(() =>
      imageToTensor(rgb, spec({ width: 2, height: 2, channels: 3, layout: 'NCHW', std: [0] })),
    ).toThrow(/non-zero/);
    expect(() =>
      imageToTensor(
        { ...rgb, data: new Uint8Array(5) },
        spec({ width: 2, height: 2, channels: 3, layout: 'NCHW' }),
      ),
    ).toThrow(/5 bytes/);
  });
});

describe('preprocessBytes', () => {
  it('decodes, resizes and normalises a real photo exactly like the separate steps', () => {
    const bytes = readData('data/photos/chelsea.png');
    const s = spec({
      width: 224,
      height: 224,
      channels: 3,
      layout: 'NHWC',
      mean: [0.485, 0.456, 0.406],
      std: [0.229, 0.224, 0.225],
    });
    const out = preprocessBytes(bytes, s, { maxPixels: 1_000_000 });
    expect(out.dims).toEqual([1, 224, 224, 3]);
    expect(out.header).toMatchObject({ format: 'png', width: 451, height: 300 });
    const resized = resizeBilinear(decodeImage(bytes), 224, 224);
    const m = [0.485, 0.456, 0.406];
    const sd = [0.229, 0.224, 0.225];
    let maxDiff = 0;
    for (let i = 0; i < resized.length; i++) {
      const c = i % 3;
      maxDiff = Math.max(maxDiff, Math.abs(out.data[i]! - (resized[i]! / 255 - m[c]!) / sd[c]!));
    }
    expect(maxDiff).toBeLessThan(1e-6);
  });

  it('gives a grey model the luma of a colour upload', () => {
    const bytes = readData('data/photos/coffee.png');
    const s = spec({ width: 28, height: 28, channels: 1, layout: 'NCHW' });
    const viaBytes = preprocessBytes(bytes, s);
    const viaImage = imageToTensor(rgbToGrey(decodeImage(bytes)), s);
    expect(viaBytes.data).toEqual(viaImage);
    expect(viaBytes.dims).toEqual([1, 1, 28, 28]);
  });

  it('applies the limits before decoding', () => {
    const bytes = readData('data/photos/coffee.png'); // 600×400
    const s = spec({ width: 8, height: 8, channels: 3, layout: 'NCHW' });
    expect(() => preprocessBytes(bytes, s, { maxPixels: 239_999 })).toThrow(/limit/);
    expect(() => preprocessBytes(bytes, s, { maxBytes: 1000 })).toThrow(/bytes/);
    expect(preprocessBytes(bytes, s, { maxPixels: 240_000 }).data.length).toBe(192);
  });
});
