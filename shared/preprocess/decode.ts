import { checkImageLimits, type ImageHeader, readImageHeader } from './header.ts';
import { decodeJpegImage } from './jpeg.ts';
import { decodePngImage } from './png.ts';
import { DEFAULT_MAX_PIXELS, type ImageLimits, type RawImage } from './types.ts';

export interface DecodeOptions extends ImageLimits {
  /**
   * Return grey sources (grey or grey+alpha PNG, one-component JPEG) as 1 channel instead of RGB.
   * Lossless either way: the RGB form just repeats the grey value.
   */
  keepGrey?: boolean;
}

export interface DecodedImage extends RawImage {
  header: ImageHeader;
}

/**
 * PNG or JPEG bytes → 8-bit RGB (3 bytes per pixel, or grey with `keepGrey`). The header is read
 * and checked against the limits first, so oversized images are refused before any decompression.
 * Errors: `invalid_image` (corrupt/truncated), `unsupported_media_type` (another format or an
 * undecodable JPEG process), `image_too_large` / `payload_too_large` (limits). Never a raw crash.
 * Alpha is composited on white (see png.ts).
 */
export function decodeImage(bytes: Uint8Array, options: DecodeOptions = {}): DecodedImage {
  const header = readImageHeader(bytes);
  checkImageLimits(header, bytes.length, options);
  const keepGrey = options.keepGrey ?? false;
  const image =
    header.format === 'png'
      ? decodePngImage(bytes, header, keepGrey)
      : decodeJpegImage(bytes, header, keepGrey, options.maxPixels ?? DEFAULT_MAX_PIXELS);
  return { ...image, header };
}
