import { EdgetuneError } from '../errors.ts';
import { type Orientation, readExifOrientation, swapsAxes } from './exif.ts';
import { decodeGifImage } from './gif.ts';
import { checkImageLimits, type ImageHeader, readImageHeader } from './header.ts';
import { decodeJpeg, type JpegScale } from './jpeg/decode.ts';
import { applyOrientation } from './orient.ts';
import { decodePngImage, greyToRgb } from './png.ts';
import { type DecodeTarget, jpegShrinkFactor } from './shrink.ts';
import type { ImageLimits, RawImage } from './types.ts';
import { decodeWebpImage, webpExif } from './webp.ts';

export interface DecodeOptions extends ImageLimits {
  /**
   * Return grey sources (grey or grey+alpha PNG, one-component JPEG) as 1 channel instead of RGB.
   * Lossless either way: the RGB form just repeats the grey value.
   */
  keepGrey?: boolean;
  /**
   * The size the picture is headed for (upright). JPEGs are then decoded at 1/2, 1/4 or 1/8 in
   * the DCT domain when that still leaves at least twice the target (see shrink.ts): a 12 MP
   * photo for a 224×224 model is decoded at 1008×756 and never exists at full size.
   */
  target?: DecodeTarget;
  /** A PNG's image data already inflated (png-inflate.ts); decoded without inflating again. */
  pngData?: Uint8Array;
  /** `bytes`' header when the caller has read it already (it is not read again). */
  header?: ImageHeader;
}

export interface DecodedImage extends RawImage {
  header: ImageHeader;
  /** EXIF orientation that was applied (1 = none); the pixels returned are upright. */
  orientation: Orientation;
  /** JPEG shrink-on-load denominator used (1 = full size). */
  scale: JpegScale;
}

/**
 * Image bytes (JPEG, PNG, WebP, GIF) → upright 8-bit RGB (or grey with `keepGrey`). The header is
 * read and checked against the limits first — counting the pixels the decode will materialise
 * after shrink-on-load — so oversized images are refused before any decompression.
 * Errors: `invalid_image` (corrupt/truncated, bad EXIF), `unsupported_media_type` (AVIF, HEIC,
 * other formats, undecodable JPEG processes), `image_too_large` / `payload_too_large` (limits).
 * Alpha is composited on white (see png.ts). EXIF orientation (JPEG APP1, WebP EXIF) is applied.
 */
export function decodeImage(bytes: Uint8Array, options: DecodeOptions = {}): DecodedImage {
  const header = options.header ?? readImageHeader(bytes);
  const keepGrey = options.keepGrey ?? false;
  if (header.format === 'jpeg') {
    // Orientation is only known after the APP1 segment; the shrink factor compares the target
    // with the upright size, which the min() over both axes makes independent of a quarter turn
    // only when the target is square — so swap explicitly below.
    const probe = jpegOrientation(bytes);
    const upright = swapsAxes(probe)
      ? { width: header.height, height: header.width }
      : { width: header.width, height: header.height };
    const scale = jpegShrinkFactor(upright.width, upright.height, options.target);
    checkImageLimits(header, bytes.length, options, scale);
    const decoded = decodeJpeg(bytes, scale, keepGrey);
    const image = applyOrientation(decoded, probe);
    return { ...image, header, orientation: probe, scale };
  }
  checkImageLimits(header, bytes.length, options);
  let image: RawImage;
  let orientation: Orientation = 1;
  switch (header.format) {
    case 'png':
      image = decodePngImage(bytes, header, keepGrey, options.pngData);
      break;
    case 'webp': {
      const exif = webpExif(bytes);
      orientation = exif ? readExifOrientation(exif) : 1;
      image = applyOrientation(decodeWebpImage(bytes, header), orientation);
      break;
    }
    case 'gif':
      image = decodeGifImage(bytes, header);
      break;
    default:
      throw new EdgetuneError('unsupported_media_type', `cannot decode ${header.format}`);
  }
  if (!keepGrey && image.channels === 1) image = { ...image, channels: 3, data: greyToRgb(image.data) };
  return { ...image, header, orientation, scale: 1 };
}

/** EXIF orientation from the first APP1 "Exif" segment before the first scan; 1 when absent. */
function jpegOrientation(b: Uint8Array): Orientation {
  let o = 2;
  while (o + 4 <= b.length && b[o] === 0xff) {
    const marker = b[o + 1]!;
    if (marker === 0xff) {
      o++;
      continue;
    }
    if (marker === 0xda || marker === 0xd9) break;
    const length = (b[o + 2]! << 8) | b[o + 3]!;
    if (length < 2) break;
    const start = o + 4;
    if (
      marker === 0xe1 &&
      length >= 8 &&
      String.fromCharCode(...b.subarray(start, start + 6)) === 'Exif\0\0'
    ) {
      const end = Math.min(b.length, o + 2 + length);
      return readExifOrientation(b.subarray(start + 6, end));
    }
    o += 2 + length;
  }
  return 1;
}
