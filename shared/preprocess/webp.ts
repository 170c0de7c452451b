import { EdgetuneError } from '../errors.ts';
import { webpDecoder } from './codecs.ts';
import type { ImageHeader } from './header.ts';
import { rgbaOnWhiteInPlace } from './resize-wasm.ts';
import type { RawImage } from './types.ts';

/**
 * WebP (lossy VP8, lossless VP8L, with or without alpha; the first frame of an animation) →
 * 8-bit RGB with libwebp's own decoder (wasm). Alpha is composited on white like PNG's (png.ts).
 */
export function decodeWebpImage(bytes: Uint8Array, header: ImageHeader): RawImage {
  let decoded: ImageData | null;
  try {
    // The codec copies the bytes into its own heap; the typed view is all it reads.
    decoded = webpDecoder().decode(bytes as Uint8Array<ArrayBuffer>);
  } catch (e) {
    if (e instanceof EdgetuneError) throw e;
    throw new EdgetuneError('invalid_image', `corrupt WebP: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!decoded)
    throw new EdgetuneError('invalid_image', 'corrupt or truncated WebP: libwebp could not decode it');
  const { width, height } = decoded;
  if (width !== header.width || height !== header.height) {
    throw new EdgetuneError('invalid_image', 'corrupt WebP: decoded size differs from its header');
  }
  // The decoder's RGBA copy is ours alone: the RGB goes over its front (see rgbaOnWhiteInPlace).
  const rgba = new Uint8Array(decoded.data.buffer, decoded.data.byteOffset, decoded.data.byteLength);
  return { width, height, channels: 3, data: rgbaOnWhiteInPlace(rgba) };
}

/** The TIFF block of a WebP's EXIF chunk (VP8X files), for orientation. */
export function webpExif(bytes: Uint8Array): Uint8Array | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let o = 12; o + 8 <= bytes.length; ) {
    const type = String.fromCharCode(...bytes.subarray(o, o + 4));
    const size = view.getUint32(o + 4, true);
    if (o + 8 + size > bytes.length) return undefined;
    if (type === 'EXIF') {
      const chunk = bytes.subarray(o + 8, o + 8 + size);
      // Some writers keep JPEG's "Exif\0\0" prefix inside the chunk.
      return String.fromCharCode(...chunk.subarray(0, 6)) === 'Exif\0\0' ? chunk.subarray(6) : chunk;
    }
    o += 8 + size + (size & 1);
  }
  return undefined;
}
