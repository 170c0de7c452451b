/**
 * Small pixel edits on decoded images (Node side: demo data sets, test fixtures): crop, mirror,
 * and PNG encoding of a RawImage.
 */
import { encode } from 'fast-png';
import type { RawImage } from '../../shared/preprocess/types.ts';

/** 8-bit PNG of a raw grey / RGB image. */
export function encodePng(img: RawImage): Uint8Array {
  return encode({ width: img.width, height: img.height, data: img.data, channels: img.channels, depth: 8 });
}

/** The w×h rectangle whose top-left corner is (x, y); it must lie inside the image. */
export function cropImage(img: RawImage, x: number, y: number, w: number, h: number): RawImage {
  const c = img.channels;
  const data = new Uint8Array(w * h * c);
  for (let r = 0; r < h; r++) {
    const from = ((y + r) * img.width + x) * c;
    data.set(img.data.subarray(from, from + w * c), r * w * c);
  }
  return { width: w, height: h, channels: c, data };
}

/** Left-right mirror image. */
export function mirrorImage(img: RawImage): RawImage {
  const c = img.channels;
  const data = new Uint8Array(img.data.length);
  for (let y = 0; y < img.height; y++)
    for (let x = 0; x < img.width; x++)
      for (let k = 0; k < c; k++)
        data[(y * img.width + x) * c + k] = img.data[(y * img.width + img.width - 1 - x) * c + k]!;
  return { ...img, data };
}
