/** Small dataset trees written to a temporary folder at test time. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { encode as encodePng } from 'fast-png';
import jpeg from 'jpeg-js';
import { createRng } from '../../../shared/random.ts';

const created: string[] = [];

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `edgetune-${prefix}-`));
  created.push(dir);
  return dir;
}

/** Removes every folder tempDir made (call from afterAll). */
export function removeTempDirs(): void {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export function write(root: string, rel: string, data: Uint8Array | string): string {
  const file = path.join(root, rel);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, data);
  return file;
}

export function randomPixels(n: number, seed: number): Uint8Array {
  const rng = createRng(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(rng() * 256));
}

export function greyPng(width: number, height: number, seed: number): Uint8Array {
  return encodePng({ width, height, channels: 1, data: randomPixels(width * height, seed) });
}

export function rgbPng(width: number, height: number, seed: number): Uint8Array {
  return encodePng({ width, height, channels: 3, data: randomPixels(width * height * 3, seed) });
}

export function rgbJpeg(width: number, height: number, seed: number): Uint8Array {
  return new Uint8Array(
    jpeg.encode({ width, height, data: randomPixels(width * height * 4, seed) }, 90).data,
  );
}
