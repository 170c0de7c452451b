import { EdgetuneError } from '../errors.ts';

/** EXIF orientation (TIFF tag 0x0112): 1 = upright; 2–8 = the mirrorings and quarter turns. */
export type Orientation = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8;

function corrupt(detail: string): EdgetuneError {
  return new EdgetuneError('invalid_image', `corrupt EXIF: ${detail}`);
}

/**
 * Reads only the Orientation tag of IFD0 from a TIFF block (what follows "Exif\0\0" in JPEG APP1,
 * or a WebP/PNG EXIF chunk). Deliberately not a general EXIF reader: one IFD, no pointer chasing,
 * so offset loops and deep chains cannot cost anything; every offset is bounds-checked. The full
 * readers (exifr) are asynchronous and many times larger than this, and the Worker bundle and the
 * synchronous decode path need neither. A missing or out-of-range value means upright; offsets
 * outside the block are a corrupt file (400).
 */
export function readExifOrientation(tiff: Uint8Array): Orientation {
  if (tiff.length < 8) throw corrupt(`the TIFF header needs 8 bytes, the block has ${tiff.length}`);
  const order = String.fromCharCode(tiff[0]!, tiff[1]!);
  if (order !== 'II' && order !== 'MM') throw corrupt(`unknown byte order "${order}"`);
  const little = order === 'II';
  const view = new DataView(tiff.buffer, tiff.byteOffset, tiff.byteLength);
  if (view.getUint16(2, little) !== 42) throw corrupt('bad TIFF magic number');
  const ifd = view.getUint32(4, little);
  if (ifd < 8 || ifd + 2 > tiff.length)
    throw corrupt(`IFD0 offset ${ifd} is outside the ${tiff.length}-byte block`);
  const count = view.getUint16(ifd, little);
  if (ifd + 2 + count * 12 > tiff.length) {
    throw corrupt(`IFD0 announces ${count} entries, more than the ${tiff.length}-byte block holds`);
  }
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + i * 12;
    if (view.getUint16(entry, little) !== 0x0112) continue;
    const type = view.getUint16(entry + 2, little);
    // SHORT, count 1: the value sits in the entry itself.
    if (type !== 3 || view.getUint32(entry + 4, little) !== 1) return 1;
    const value = view.getUint16(entry + 8, little);
    return value >= 1 && value <= 8 ? (value as Orientation) : 1;
  }
  return 1;
}

/** Orientations 5–8 turn the picture a quarter: width and height swap on display. */
export function swapsAxes(orientation: Orientation): boolean {
  return orientation >= 5;
}
