/**
 * folder: datasets of full-size camera JPEGs load through the edge's decoder with shrink-on-load
 * towards the model input, and give exactly the pixels the edge decodes for that input.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PreprocessSpecSchema } from '../../../shared/manifest/preprocess.ts';
import { decodeImage, decodeTargetFor } from '../../../shared/preprocess/index.ts';
import { loadDataset } from '../../../training/datasets/index.ts';

let dir: string;
const files: string[] = [];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgetune-photo-folder-'));
  const src = fs.readFileSync(new URL('../../../data/photos/coffee.png', import.meta.url));
  for (const [cls, angle] of [
    ['a', 0],
    ['b', 90],
  ] as const) {
    fs.mkdirSync(path.join(dir, cls));
    const file = path.join(dir, cls, 'phone.jpg');
    // A 12 MP camera-sized JPEG; class b is stored turned with EXIF orientation 6.
    let img = sharp(src).resize(4032, 3024, { fit: 'fill' });
    if (angle) img = img.rotate(270);
    await img
      .jpeg({ quality: 90 })
      .withMetadata(angle ? { orientation: 6 } : {})
      .toFile(file);
    files.push(file);
  }
}, 120_000);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('folder: of 12 MP phone JPEGs', () => {
  it('decodes towards the backbone input like the edge and reports images/s', async () => {
    const spec = PreprocessSpecSchema.parse({
      width: 224,
      height: 224,
      channels: 3,
      layout: 'NCHW',
      resize: 'triangle',
    });
    const logs: string[] = [];
    const ds = await loadDataset(`folder:${dir}`, {
      seed: 1,
      ...decodeTargetFor(spec),
      log: (m) => logs.push(m),
    });
    expect(ds.samples).toHaveLength(2);
    for (const s of ds.samples) {
      // Shrunk on load to 1/4 and turned upright: never materialised at 4032×3024.
      expect([s.image.width, s.image.height]).toEqual([1008, 756]);
      const edge = decodeImage(new Uint8Array(fs.readFileSync(path.join(dir, s.source))), {
        keepGrey: true,
        target: { width: 224, height: 224 },
      });
      expect(Buffer.from(s.image.data).equals(Buffer.from(edge.data))).toBe(true);
    }
    expect(logs.join('\n')).toMatch(
      /loaded 2 images of folder:.* in \d+\.\d s \(\d+\.\d images\/s, decoded towards 224×224\)/,
    );
  }, 120_000);
});
