/**
 * Real image files for the demo: digit cells cut from the OpenCV sheet and written as PNG (what a
 * client would upload), and a small three-class photo dataset made of crops of the project's
 * public-domain photos (data/photos/), as one subfolder per class for `folder:` specs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRng, type Rng } from '../../shared/random.ts';
import { decodeImage } from '../../shared/preprocess/decode.ts';
import { resizeImage } from '../../shared/preprocess/resize.ts';
import type { RawImage } from '../../shared/preprocess/types.ts';
import { loadDataset } from '../datasets/index.ts';
import { cropImage, encodePng, mirrorImage } from '../images/edit.ts';
import { projectRoot } from '../../local-edge/bundle.ts';
import type { ImageFile } from './edge-client.ts';

export interface LabelledFile extends ImageFile {
  file: string;
  label: string;
}

/** One PNG per selected sheet cell, named `digit-<label>-<n>.png`. */
export async function writeDigitPngs(dir: string, spec: string): Promise<LabelledFile[]> {
  const ds = await loadDataset(spec, { seed: 1, cwd: projectRoot });
  fs.mkdirSync(dir, { recursive: true });
  const files = ds.samples.map((s, i) => {
    const label = ds.labels[s.label]!;
    const file = path.join(dir, `digit-${label}-${i}.png`);
    fs.writeFileSync(file, encodePng(s.image));
    return { file, label, bytes: new Uint8Array(fs.readFileSync(file)), type: 'image/png' as const };
  });
  return files.sort((a, b) => a.label.localeCompare(b.label));
}

/** The photos behind each demo class (see data/photos/LICENSES.md). */
export const PHOTO_CLASSES = {
  cat: 'chelsea.png',
  coffee: 'coffee.png',
  galaxies: 'hubble_deep_field.jpg',
} as const;

export function photoPath(cls: keyof typeof PHOTO_CLASSES): string {
  return path.join(projectRoot, 'data', 'photos', PHOTO_CLASSES[cls]);
}

/** The original file as a client would send it. */
export function photoFile(cls: keyof typeof PHOTO_CLASSES): LabelledFile {
  const file = photoPath(cls);
  const type = file.endsWith('.jpg') ? 'image/jpeg' : 'image/png';
  return { file, label: cls, bytes: new Uint8Array(fs.readFileSync(file)), type };
}

/** A random crop covering 45–85% of each side, sometimes mirrored, scaled to 96–191 px wide. */
function randomView(img: RawImage, rng: Rng): RawImage {
  const w = Math.floor(img.width * (0.45 + 0.4 * rng()));
  const h = Math.floor(img.height * (0.45 + 0.4 * rng()));
  const x = Math.floor((img.width - w) * rng());
  const y = Math.floor((img.height - h) * rng());
  let view = cropImage(img, x, y, w, h);
  if (rng() < 0.5) view = mirrorImage(view);
  const outW = 96 + Math.floor(96 * rng());
  return resizeImage(view, outW, Math.max(32, Math.round((outW * h) / w)));
}

/**
 * `<dir>/train/<class>/*.png` and `<dir>/test/<class>/*.png`: different random crops (different
 * seeds) of the same three photos. A test crop is not a training image, but it shows the same
 * scene; the point is MobileNetV2's pretrained features at work, not a hard benchmark.
 */
export function writePhotoFolders(
  dir: string,
  perClass: { train: number; test: number },
): { train: string; test: string; classes: string[] } {
  const sets = { train: { n: perClass.train, seed: 11 }, test: { n: perClass.test, seed: 29 } };
  const classes = Object.keys(PHOTO_CLASSES) as (keyof typeof PHOTO_CLASSES)[];
  for (const cls of classes) {
    const img = decodeImage(new Uint8Array(fs.readFileSync(photoPath(cls))));
    const raw: RawImage = { width: img.width, height: img.height, channels: img.channels, data: img.data };
    for (const [set, { n, seed }] of Object.entries(sets)) {
      const rng = createRng(seed + classes.indexOf(cls));
      const out = path.join(dir, set, cls);
      fs.mkdirSync(out, { recursive: true });
      for (let i = 0; i < n; i++)
        fs.writeFileSync(path.join(out, `${cls}-${i}.png`), encodePng(randomView(raw, rng)));
    }
  }
  return { train: path.join(dir, 'train'), test: path.join(dir, 'test'), classes };
}
