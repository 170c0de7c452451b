import { readFile } from 'node:fs/promises';
import { EdgetuneError, errorMessage } from '../../../shared/errors.ts';
import { decodeImage } from '../../../shared/preprocess/decode.ts';
import type { DecodeTarget } from '../../../shared/preprocess/shrink.ts';
import type { RawImage } from '../../../shared/preprocess/types.ts';
import { installNodeCodecs } from '../../images/node-codecs.ts';

/** Digit-named classes sort numerically (2 before 10); anything else by code point, never by locale. */
export function sortClassNames(names: Iterable<string>): string[] {
  const list = [...new Set(names)];
  if (list.every((n) => /^\d+$/.test(n)))
    return list.sort((a, b) => Number(a) - Number(b) || (a < b ? -1 : 1));
  return list.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export function isImageFileName(name: string): boolean {
  return /\.(png|jpe?g|webp|gif)$/i.test(name);
}

/**
 * Reads and decodes one image file; every failure names the file. Grey stays 1 channel. With a
 * `target`, JPEGs shrink on load exactly as preprocessBytes does at the edge for the same size,
 * so a folder of 12 MP camera photos never exists at full size in memory and training sees the
 * pixels serving will see.
 */
export async function loadImageFile(path: string, target?: DecodeTarget): Promise<RawImage> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'not_found' : 'bad_request';
    throw new EdgetuneError(code, `cannot read image ${path}: ${errorMessage(e)}`, { cause: e });
  }
  await installNodeCodecs();
  return decodeImageBytes(path, bytes, target);
}

/**
 * Decodes the bytes of image file `path` (codecs installed: see installNodeCodecs); every
 * failure names the file. Shared by the in-memory loader, the streamed samples and the decode
 * workers, so all three see the same pixels.
 */
export function decodeImageBytes(path: string, bytes: Uint8Array, target?: DecodeTarget): RawImage {
  try {
    const { width, height, channels, data } = decodeImage(bytes, {
      keepGrey: true,
      ...(target ? { target } : {}),
    });
    return { width, height, channels, data };
  } catch (e) {
    const code = e instanceof EdgetuneError ? e.code : 'invalid_image';
    throw new EdgetuneError(code, `unreadable image ${path}: ${errorMessage(e)}`, { cause: e });
  }
}

/** Reads a whole file, answering not_found with the path when it is missing. */
export async function readDataFile(path: string, what: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'not_found' : 'bad_request';
    throw new EdgetuneError(code, `cannot read ${what} ${path}: ${errorMessage(e)}`, { cause: e });
  }
}
