import { GifReader } from 'omggif';
import { EdgetuneError } from '../errors.ts';
import type { ImageHeader } from './header.ts';
import { compositeOnWhite } from './png.ts';
import type { RawImage } from './types.ts';

/**
 * GIF → 8-bit RGB: the first frame drawn on the logical screen (omggif, pure JS). Pixels the
 * frame does not cover and transparent ones are composited on white like PNG alpha.
 */
export function decodeGifImage(bytes: Uint8Array, header: ImageHeader): RawImage {
  const { width, height } = header;
  const rgba = new Uint8Array(width * height * 4);
  try {
    const reader = new GifReader(bytes);
    if (reader.numFrames() < 1) throw new Error('no frames');
    reader.decodeAndBlitFrameRGBA(0, rgba);
  } catch (e) {
    throw new EdgetuneError(
      'invalid_image',
      `corrupt or truncated GIF: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  return { width, height, channels: 3, data: compositeOnWhite(rgba, 4) };
}
