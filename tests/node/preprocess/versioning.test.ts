/**
 * The preprocessing is versioned in the manifest: a version published before `triangle` existed
 * (no `resize` field) keeps full-size decoding + bilinear; `triangle` versions shrink JPEGs on
 * load leaving 2× for the antialiased filter, `triangle-fast` (new exports) leaving 1×.
 */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { CURRENT_RESIZE, PreprocessSpecSchema } from '../../../shared/manifest/preprocess.ts';
import {
  decodeImage,
  decodeTargetFor,
  imageToTensor,
  jpegShrinkFactor,
  preprocessBytes,
} from '../../../shared/preprocess/index.ts';
import { readData } from './fixtures.ts';

describe('preprocessing versions', () => {
  it('old manifests read as bilinear; new exports record triangle-fast', () => {
    const old = PreprocessSpecSchema.parse({ width: 224, height: 224, channels: 3, layout: 'NCHW' });
    expect(old.resize).toBe('bilinear');
    expect(decodeTargetFor(old)).toEqual({});
    expect(CURRENT_RESIZE).toBe('triangle-fast');
    expect(decodeTargetFor({ ...old, resize: 'triangle' })).toEqual({ target: { width: 224, height: 224 } });
    expect(decodeTargetFor({ ...old, resize: 'triangle-fast' })).toEqual({
      target: { width: 224, height: 224, leave: 1 },
    });
    expect(() => PreprocessSpecSchema.parse({ ...old, resize: 'lanczos' })).toThrow();
  });

  it('bilinear decodes at full size; triangle shrinks a large JPEG on load, then filters', async () => {
    const bytes = new Uint8Array(
      await sharp(readData('data/photos/chelsea.png'))
        .resize(1800, 1800, { fit: 'fill' })
        .jpeg({ quality: 90 })
        .toBuffer(),
    );
    const base = { width: 224, height: 224, channels: 3 as const, layout: 'NCHW' as const };
    const bilinear = PreprocessSpecSchema.parse({ ...base, resize: 'bilinear' });
    const triangle = PreprocessSpecSchema.parse({ ...base, resize: 'triangle' });
    const full = decodeImage(bytes);
    const shrunk = decodeImage(bytes, { target: { width: 224, height: 224 } });
    expect([full.width, full.scale, shrunk.width, shrunk.scale]).toEqual([1800, 1, 450, 4]);
    expect(preprocessBytes(bytes, bilinear).data).toEqual(imageToTensor(full, bilinear));
    expect(preprocessBytes(bytes, triangle).data).toEqual(imageToTensor(shrunk, triangle));
    // The two versions really differ (antialiasing vs aliasing on a 8× reduction).
    expect(preprocessBytes(bytes, triangle).data).not.toEqual(preprocessBytes(bytes, bilinear).data);
  });

  it('triangle-fast picks the shrink sharp does by default (fastShrinkOnLoad); triangle leaves 2×', () => {
    const to224 = (leave: 1 | 2) => ({ width: 224, height: 224, leave });
    // [width, height] → [triangle, triangle-fast], for a 224×224 input.
    const cases: [number, number, number, number][] = [
      [4032, 3024, 4, 8], // 12 MP phone photo: shrink 13.5
      [8000, 6000, 8, 8], // 48 MP: shrink 26.8
      [1632, 1224, 2, 4], // 2 MP: shrink 5.5
      [1800, 1800, 4, 4], // shrink 8.04: 8 equals its integer part, so one step down (libjpeg rounding)
      [1152, 864, 1, 2], // shrink 3.9
      [640, 480, 1, 1], // shrink 2.1: 2 equals its integer part
      [300, 300, 1, 1],
    ];
    for (const [w, h, triangle, fast] of cases) {
      expect([jpegShrinkFactor(w, h, to224(2)), jpegShrinkFactor(w, h, to224(1))], `${w}×${h}`).toEqual([
        triangle,
        fast,
      ]);
    }
    expect(jpegShrinkFactor(4032, 3024, { width: 224, height: 224 })).toBe(4);
  });

  it('triangle-fast decodes a 12 MP JPEG at 1/8 and resizes with the same filter', async () => {
    const bytes = new Uint8Array(
      await sharp(readData('data/photos/chelsea.png'))
        .resize(4032, 3024, { fit: 'fill' })
        .jpeg({ quality: 90 })
        .toBuffer(),
    );
    const base = { width: 224, height: 224, channels: 3 as const, layout: 'NCHW' as const };
    const fast = PreprocessSpecSchema.parse({ ...base, resize: 'triangle-fast' });
    const triangle = PreprocessSpecSchema.parse({ ...base, resize: 'triangle' });
    const shrunk = decodeImage(bytes, decodeTargetFor(fast));
    expect([shrunk.width, shrunk.height, shrunk.scale]).toEqual([504, 378, 8]);
    expect(preprocessBytes(bytes, fast).data).toEqual(imageToTensor(shrunk, fast));
    // Close to `triangle` (the same picture), not equal (a different DCT-domain shrink).
    const a = preprocessBytes(bytes, fast).data;
    const b = preprocessBytes(bytes, triangle).data;
    expect(a).not.toEqual(b);
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let i = 0; i < a.length; i++) {
      dot += a[i]! * b[i]!;
      na += a[i]! * a[i]!;
      nb += b[i]! * b[i]!;
    }
    expect(dot / Math.sqrt(na * nb)).toBeGreaterThan(0.999);
  });
});
