import { EdgetuneError } from '../../shared/errors.ts';
import { sniffImageFormat } from '../../shared/preprocess/header.ts';
import { mediaType } from './validate.ts';

/**
 * The image format each well-known media type names. Used only to catch a declared type that
 * contradicts the bytes; what the bytes are is always decided by `sniffImageFormat`.
 */
const FORMAT_OF_TYPE: Record<string, string> = {
  'image/png': 'png',
  'image/apng': 'png',
  'image/jpeg': 'jpeg',
  'image/jpg': 'jpeg',
  'image/pjpeg': 'jpeg',
  'image/webp': 'webp',
  'image/gif': 'gif',
  'image/avif': 'avif',
  'image/heic': 'heic',
  'image/heif': 'heic',
  'image/bmp': 'bmp',
  'image/tiff': 'tiff',
};

/** Types that say nothing about the bytes: the magic bytes decide. */
const UNTYPED = new Set([
  '',
  'application/octet-stream',
  'binary/octet-stream',
  'application/x-www-form-urlencoded',
]);

/** Whether a raw body of this media type is read as an image (any image/*, or an untyped body). */
export function isRawImageType(type: string): boolean {
  return type.startsWith('image/') || UNTYPED.has(type);
}

/**
 * Sniffs the bytes (415 for formats the edge cannot decode, 400 for truncated data) and refuses a
 * declared image type that names a different format (400: the client mislabelled its upload).
 */
export function checkDeclaredType(
  contentType: string | null | undefined,
  bytes: Uint8Array,
  what = 'body',
): void {
  const type = mediaType(contentType);
  const actual = sniffImageFormat(bytes);
  const declared = FORMAT_OF_TYPE[type];
  if (declared !== undefined && declared !== actual) {
    throw new EdgetuneError(
      'invalid_image',
      `${what}: content-type says ${type} but the bytes are ${actual.toUpperCase()}`,
    );
  }
  if (declared === undefined && !isRawImageType(type)) {
    throw new EdgetuneError(
      'unsupported_media_type',
      `${what}: content-type ${JSON.stringify(type)} is not an image type: send image/*, application/octet-stream or no type`,
    );
  }
}
