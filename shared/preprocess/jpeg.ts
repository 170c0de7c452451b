import jpeg from 'jpeg-js';
import { EdgetuneError } from '../errors.ts';
import type { ImageHeader } from './header.ts';
import type { RawImage } from './types.ts';

/** jpeg-js keeps ~4 bytes per DCT coefficient per component plus its output; 24 B/pixel covers 4:4:4 CMYK. */
const JPEG_BYTES_PER_PIXEL = 24;

/**
 * JPEG → 8-bit RGB (or grey for one-component JPEGs when `keepGrey`) with jpeg-js, pure JS, so
 * that Node and workerd decode bit-identically. `useTArray` keeps it off Node's Buffer (absent in
 * workerd); its own resolution and memory caps are set from the caller's pixel limit as a second
 * line of defence behind the header check. EXIF orientation is NOT applied: pixels are used as
 * stored, in training and at the edge alike.
 */
export function decodeJpegImage(
  bytes: Uint8Array,
  header: ImageHeader,
  keepGrey: boolean,
  maxPixels: number,
): RawImage {
  let decoded: { width: number; height: number; data: Uint8Array };
  try {
    decoded = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      tolerantDecoding: true,
      maxResolutionInMP: maxPixels / 1e6,
      maxMemoryUsageInMB: Math.ceil((maxPixels * JPEG_BYTES_PER_PIXEL) / 2 ** 20) + 16,
    });
  } catch (e) {
    const detail = e instanceof Error ? e.message : String(e);
    if (/limit exceeded|allocate enough memory/.test(detail)) {
      throw new EdgetuneError('image_too_large', `JPEG needs too much memory to decode: ${detail}`, {
        cause: e,
      });
    }
    throw new EdgetuneError('invalid_image', `corrupt JPEG: ${detail}`, { cause: e });
  }
  const { width, height, data } = decoded;
  if (width !== header.width || height !== header.height || data.length !== width * height * 3) {
    throw new EdgetuneError('invalid_image', 'corrupt JPEG: decoded size differs from its header');
  }
  if (keepGrey && header.channels === 1) {
    const grey = new Uint8Array(width * height);
    for (let i = 0; i < grey.length; i++) grey[i] = data[3 * i]!;
    return { width, height, channels: 1, data: grey };
  }
  return { width, height, channels: 3, data };
}
