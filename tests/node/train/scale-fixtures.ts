/**
 * Fixtures for the training-at-scale tests: the small pretrained backbone the quick demo uses
 * (mnist, 200 per class, 2 epochs: ~15 s once per machine, then cached), and folders of
 * generated PNGs written by sharp (libvips), fast enough to make thousands at test time.
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { QUICK } from '../../../training/demo/profile.ts';
import { cachedPretrainedBackbone } from '../../../training/train/cached-backbone.ts';

export async function quickBackbone(): Promise<string> {
  const r = await cachedPretrainedBackbone({ ...QUICK.pretrain, backend: 'wasm' });
  return r.path;
}

/**
 * `folder:<dir>` with classes "dark" and "light", `perClass` distinct RGB PNGs of side×side
 * each: a gradient whose phase is the image's index (so no two files are the same picture) and
 * whose brightness is the class, with the index written into the first pixels.
 */
export async function pngFolder(dir: string, perClass: number, side: number): Promise<string> {
  for (const [c, cls] of ['dark', 'light'].entries()) {
    fs.mkdirSync(path.join(dir, cls), { recursive: true });
    const data = Buffer.alloc(side * side * 3);
    for (let i = 0; i < perClass; i++) {
      for (let p = 0; p < data.length; p++) data[p] = (c * 110 + (((p >> 3) + i * 7) % 120)) & 255;
      // The index in the first two pixels' red: the phase repeats, the picture never does.
      data[0] = i & 255;
      data[3] = (i >> 8) & 255;
      const png = await sharp(data, { raw: { width: side, height: side, channels: 3 } })
        .png({ compressionLevel: 1 })
        .toBuffer();
      fs.writeFileSync(path.join(dir, cls, `${cls}-${String(i).padStart(5, '0')}.png`), png);
    }
  }
  return dir;
}
