/**
 * Small photo tasks made from the public-domain and CC0 photos shipped in data/photos
 * (LICENSES.md): each photo is a class, its images are seeded random crops (25–50 % of the shorter
 * side, anywhere, every other one mirrored), written as PNGs into folder:<dir>/<class>/.
 * Deterministic for a given seed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { decodeImage } from '../../shared/preprocess/decode.ts';
import type { RawImage } from '../../shared/preprocess/types.ts';
import { createRng } from '../../shared/random.ts';
import { cropImage, encodePng, mirrorImage } from '../../training/images/edit.ts';

export const PHOTO_CLASSES = { cat: 'chelsea.png', coffee: 'coffee.png', hubble: 'hubble_deep_field.jpg' };
/**
 * Ten photos, ten classes: the task the selection issue describes (10 classes, 10 labels each) on
 * photos. Four are greyscale textures (brick, grass, gravel) or nearly so (the retina's black rim),
 * so some crops are hard to tell apart.
 */
export const PHOTO_CLASSES_10 = {
  ...PHOTO_CLASSES,
  astronaut: 'astronaut.jpg',
  rocket: 'rocket.jpg',
  retina: 'retina.jpg',
  tissue: 'ihc.jpg',
  brick: 'brick.jpg',
  grass: 'grass.jpg',
  gravel: 'gravel.jpg',
};

export function writePhotoCrops(
  root: string,
  dir: string,
  perClass: number,
  seed = 7,
  classes: Record<string, string> = PHOTO_CLASSES,
): string {
  const rng = createRng(seed);
  for (const [cls, file] of Object.entries(classes)) {
    const img = decodeImage(new Uint8Array(fs.readFileSync(path.join(root, 'data', 'photos', file))));
    const raw: RawImage = { width: img.width, height: img.height, channels: img.channels, data: img.data };
    fs.mkdirSync(path.join(dir, cls), { recursive: true });
    const side = Math.min(raw.width, raw.height);
    for (let i = 0; i < perClass; i++) {
      const s = Math.floor(side * (0.25 + 0.25 * rng()));
      const x = Math.floor((raw.width - s) * rng());
      const y = Math.floor((raw.height - s) * rng());
      let c = cropImage(raw, x, y, s, s);
      if (i % 2 === 1) c = mirrorImage(c);
      fs.writeFileSync(path.join(dir, cls, `${String(i).padStart(3, '0')}.png`), encodePng(c));
    }
  }
  return dir;
}
