/**
 * Node side of tests/workers/photo-decode.test.ts, called from the workers global setup: a small
 * corpus made with sharp (a baseline JPEG with EXIF orientation 6, a progressive one, a 12 MP
 * one, WebP lossy with alpha and lossless, a GIF, a PNG) and what Node's decode of each gives.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import type { TestProject } from 'vitest/node';
import { PreprocessSpecSchema } from '../../shared/manifest/preprocess.ts';
import { decodeImage, preprocessBytes } from '../../shared/preprocess/index.ts';
import { installNodeCodecs } from '../../training/images/node-codecs.ts';
import type { PhotoReference } from './photo-reference.ts';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export async function providePhotoReference(project: TestProject): Promise<void> {
  await installNodeCodecs();
  const src = readFileSync(new URL('../../data/photos/coffee.png', import.meta.url));
  const withAlpha = sharp(src).ensureAlpha(0.6);
  const made: [string, Buffer][] = [
    [
      'orientation-6.jpg',
      await sharp(src).rotate(270).jpeg({ quality: 90 }).withMetadata({ orientation: 6 }).toBuffer(),
    ],
    ['progressive.jpg', await sharp(src).jpeg({ quality: 85, progressive: true }).toBuffer()],
    ['12mp.jpg', await sharp(src).resize(4032, 3024, { fit: 'fill' }).jpeg({ quality: 90 }).toBuffer()],
    ['alpha.webp', await withAlpha.clone().webp({ quality: 90 }).toBuffer()],
    ['lossless.webp', await sharp(src).webp({ lossless: true }).toBuffer()],
    ['photo.gif', await sharp(src).gif().toBuffer()],
    ['alpha.png', await withAlpha.clone().png().toBuffer()],
  ];
  const spec = {
    width: 224,
    height: 224,
    channels: 3 as const,
    layout: 'NCHW' as const,
    resize: 'triangle-fast' as const,
    mean: [0],
    std: [1],
  };
  const parsed = PreprocessSpecSchema.parse(spec);
  const reference: PhotoReference = {
    spec,
    files: made.map(([name, buffer]) => {
      const bytes = new Uint8Array(buffer);
      const full = decodeImage(bytes);
      const shrunk = decodeImage(bytes, { target: { width: 224, height: 224 } });
      const tensor = preprocessBytes(bytes, parsed).data;
      return {
        name,
        base64: buffer.toString('base64'),
        pixels: sha(full.data),
        shrunk: sha(shrunk.data),
        width: shrunk.width,
        height: shrunk.height,
        scale: shrunk.scale,
        tensor: sha(new Uint8Array(tensor.buffer, tensor.byteOffset, tensor.byteLength)),
      };
    }),
  };
  project.provide('photoReference', reference);
}
