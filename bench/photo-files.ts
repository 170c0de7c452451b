/**
 * The four reference uploads of the photo benchmarks (README's Photos section), made from the
 * repo's public-domain coffee photo by sharp, and the native pipeline they are compared with:
 * sharp (libvips) decode + EXIF `.rotate()` + antialiased linear resize, 1 call per image.
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { projectRoot } from '../local-edge/bundle.ts';

export interface PhotoFile {
  label: string;
  contentType: string;
  bytes: Uint8Array;
  width: number;
  height: number;
}

export async function photoBenchFiles(): Promise<PhotoFile[]> {
  const src = fs.readFileSync(path.join(projectRoot, 'data', 'photos', 'coffee.png'));
  const make = async (label: string, width: number, height: number, type: 'jpeg' | 'webp' | 'png') => {
    const s = sharp(src).resize(width, height, { fit: 'fill' });
    const buf = await (type === 'jpeg'
      ? s.jpeg({ quality: 90 })
      : type === 'webp'
        ? s.webp({ quality: 90 })
        : s.png()
    ).toBuffer();
    return { label, contentType: `image/${type}`, bytes: new Uint8Array(buf), width, height };
  };
  return [
    await make('12 MP JPEG q90', 4032, 3024, 'jpeg'),
    await make('2 MP JPEG q90', 1632, 1224, 'jpeg'),
    await make('1 MP WebP q90', 1152, 864, 'webp'),
    await make('0.3 MP PNG', 640, 480, 'png'),
  ];
}

/** sharp's decode + `.rotate()` + resize to width × height (linear, antialiased) → raw RGB. */
export async function sharpPreprocess(bytes: Uint8Array, width: number, height: number): Promise<Buffer> {
  return sharp(bytes)
    .rotate()
    .resize(width, height, { fit: 'fill', kernel: 'linear' })
    .removeAlpha()
    .raw()
    .toBuffer();
}
