/**
 * The preprocessing is versioned in the manifest: a version published before `triangle` existed
 * (no `resize` field) keeps full-size decoding + bilinear; `triangle` versions shrink JPEGs on
 * load and resize with the antialiased filter.
 */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { CURRENT_RESIZE, PreprocessSpecSchema } from '../../../shared/manifest/preprocess.ts';
import {
  decodeImage,
  decodeTargetFor,
  imageToTensor,
  preprocessBytes,
} from '../../../shared/preprocess/index.ts';
import { readData } from './fixtures.ts';

describe('preprocessing versions', () => {
  it('old manifests read as bilinear; new exports record triangle', () => {
    const old = PreprocessSpecSchema.parse({ width: 224, height: 224, channels: 3, layout: 'NCHW' });
    expect(old.resize).toBe('bilinear');
    expect(decodeTargetFor(old)).toEqual({});
    expect(CURRENT_RESIZE).toBe('triangle');
    expect(decodeTargetFor({ ...old, resize: 'triangle' })).toEqual({ target: { width: 224, height: 224 } });
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
});
