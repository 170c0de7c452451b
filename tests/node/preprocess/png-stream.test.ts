/**
 * Large PNGs stream row bands into the antialiased resize (shared/preprocess/png-stream.ts): the
 * tensors are bit-identical to decoding the whole picture and resizing it, and the pixel limit
 * counts what is held at once, so a 12 MP PNG passes the edge's default 4 MP limit.
 */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { isEdgetuneError } from '../../../shared/errors.ts';
import { type PreprocessSpec, PreprocessSpecSchema } from '../../../shared/manifest/preprocess.ts';
import { decodeImage, imageToTensor, preprocessBytes } from '../../../shared/preprocess/index.ts';
import { readData } from './fixtures.ts';

/** The Worker's defaults (functions/config.ts): MAX_IMAGE_PIXELS 4 MP, MAX_IMAGE_SIDE 4096. */
const EDGE_LIMITS = { maxPixels: 4_194_304, maxWidth: 4096, maxHeight: 4096 };

const spec = (channels: 1 | 3): PreprocessSpec =>
  PreprocessSpecSchema.parse({
    width: 224,
    height: 160,
    channels,
    layout: 'NCHW',
    resize: 'triangle',
    mean: [0.5],
    std: [0.25],
  });

/** The whole-picture path the streaming one must equal: decode everything, then resize. */
function wholePicture(bytes: Uint8Array, s: PreprocessSpec): Float32Array {
  return imageToTensor(decodeImage(bytes, { keepGrey: s.channels === 1 }), s);
}

function errorCode(f: () => unknown): string {
  try {
    f();
    return 'no error';
  } catch (e) {
    return isEdgetuneError(e) ? `${e.status} ${e.code}` : `raw ${String(e)}`;
  }
}

describe('PNG streamed into the resize', () => {
  it('gives the same tensor bits as the whole-picture decode for every colour type and depth', async () => {
    const photo = readData('data/photos/coffee.png');
    const base = sharp(photo).resize(1001, 667, { fit: 'fill' });
    const variants: [string, Buffer][] = [
      ['rgb8', await base.clone().png().toBuffer()],
      ['rgba8', await base.clone().ensureAlpha(0.6).png().toBuffer()],
      ['grey8', await base.clone().greyscale().png().toBuffer()],
      ['rgb16', await base.clone().toColourspace('rgb16').png().toBuffer()],
      ['palette', await base.clone().png({ palette: true, colours: 64 }).toBuffer()],
      ['palette-alpha', await base.clone().ensureAlpha(0.5).png({ palette: true, colours: 32 }).toBuffer()],
      ['palette-1bit', await base.clone().greyscale().png({ palette: true, colours: 2 }).toBuffer()],
    ];
    for (const [name, buffer] of variants) {
      const bytes = new Uint8Array(buffer);
      for (const channels of [3, 1] as const) {
        const s = spec(channels);
        const streamed = preprocessBytes(bytes, s).data;
        const whole = wholePicture(bytes, s);
        expect(streamed.length, name).toBe(whole.length);
        expect(
          Buffer.from(streamed.buffer).equals(Buffer.from(whole.buffer)),
          `${name}, ${channels} channels`,
        ).toBe(true);
      }
    }
  }, 120_000);

  it('accepts a 12 MP PNG under the edge limits that refuse its whole-picture decode', async () => {
    const bytes = new Uint8Array(
      await sharp(readData('data/photos/coffee.png')).resize(4032, 3024, { fit: 'fill' }).png().toBuffer(),
    );
    const s = spec(3);
    expect(errorCode(() => decodeImage(bytes, EDGE_LIMITS))).toBe('413 image_too_large');
    const streamed = preprocessBytes(bytes, s, EDGE_LIMITS);
    expect(streamed.header).toMatchObject({ format: 'png', width: 4032, height: 3024 });
    expect(Buffer.from(streamed.data.buffer).equals(Buffer.from(wholePicture(bytes, s).buffer))).toBe(true);
  }, 120_000);

  it('still refuses from the header what would be too much work or too tall to hold', async () => {
    // 8000 × 5200 = 41.6 MP: over the 40 MP of inflate work a streamed PNG may cost.
    const big = new Uint8Array(
      await sharp({ create: { width: 8000, height: 5200, channels: 3, background: '#808080' } })
        .png()
        .toBuffer(),
    );
    const limits = { maxPixels: 40_000_000, maxWidth: 65535, maxHeight: 65535 };
    expect(errorCode(() => preprocessBytes(big, spec(3), limits))).toBe('413 image_too_large');
    // Tall: 224 × 20000 reduced samples held at once exceed the edge's 4 MP.
    const tall = new Uint8Array(
      await sharp({ create: { width: 300, height: 20000, channels: 3, background: '#808080' } })
        .png()
        .toBuffer(),
    );
    expect(errorCode(() => preprocessBytes(tall, spec(3), { ...EDGE_LIMITS, maxHeight: 65535 }))).toBe(
      '413 image_too_large',
    );
    // A truncated streamed PNG is a 400, not a partial tensor.
    const cut = new Uint8Array(
      await sharp(readData('data/photos/coffee.png')).resize(1200, 900).png().toBuffer(),
    ).subarray(0, 300_000);
    expect(errorCode(() => preprocessBytes(cut, spec(3)))).toBe('400 invalid_image');
  }, 120_000);
});
