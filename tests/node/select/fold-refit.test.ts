/**
 * How a CV split scores an SGD-trained configuration (training/select/fit.ts, `Rows.epochs`): it
 * trains only the refit — on the split's training and validation rows together, for the epochs a
 * first fit kept — and that is exactly the refit the export makes after its own first fit
 * (`refitAll`), so CV scores what is exported.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../../../shared/random.ts';
import type { RawImage } from '../../../shared/preprocess/types.ts';
import { trainScratch, trainTransfer } from '../../../training/select/fit.ts';
import type { Configuration } from '../../../training/select/space.ts';
import { transferHyper } from '../../../training/train/hyper.ts';
import { initTf } from '../../../training/tf/backend.ts';

beforeAll(async () => {
  await initTf({ backend: 'wasm' });
});

// 3 classes × 12 rows in 8 dimensions: class c centred on 1.5·e_c, with noise.
const rng = createRng(11);
const n = 36;
const dim = 8;
const y = Int32Array.from({ length: n }, (_, i) => i % 3);
const x = Float32Array.from({ length: n * dim }, (_, j) => {
  const i = Math.floor(j / dim);
  return (j % dim === y[i] ? 1.5 : 0) + (rng() - 0.5) * 1.5;
});
const rows = {
  train: [...Array(18).keys()],
  val: [18, 19, 20, 21, 22, 23],
  predict: [...Array(12).keys()].map((i) => 24 + i),
};
const mlp: Configuration = {
  id: 'features · mlp',
  kind: 'transfer',
  trainable: 0,
  head: 'mlp',
  complexity: 20,
};

describe('a CV split of an SGD-trained configuration', () => {
  it('is the export’s refit of an MLP head: the same predictions as a first fit then the refit', async () => {
    const hyper = transferHyper({ epochs: 30, patience: 5 }, 0);
    const input = { x, itemShape: [dim] };
    const first = await trainTransfer(mlp, input, y, 3, rows, 4, hyper);
    expect(first.epochs).not.toBeNull();
    expect(first.epochs!.head).toBeGreaterThan(0);
    const exported = await trainTransfer(mlp, input, y, 3, { ...rows, refitAll: true }, 4, hyper);
    const split = await trainTransfer(mlp, input, y, 3, { ...rows, epochs: first.epochs! }, 4, hyper);
    expect(split.epochs).toBeNull();
    expect([...split.probs]).toEqual([...exported.probs]);
    // …and not the first fit's: the refit learned from the validation rows too.
    expect([...split.probs]).not.toEqual([...first.probs]);
  });

  it('is the export’s refit of the scratch CNN', async () => {
    // 8-px single-channel images: class c brightest in its own third of the rows.
    const images: RawImage[] = Array.from({ length: n }, (_, i) => {
      const data = new Uint8Array(64);
      for (let p = 0; p < 64; p++) {
        const band = Math.min(2, Math.floor(Math.floor(p / 8) / 3));
        data[p] = Math.round((band === y[i] ? 200 : 40) + rng() * 50);
      }
      return { width: 8, height: 8, channels: 1, data };
    });
    const shape = { side: 8, channels: 1 as const, batchSize: 8 };
    const first = await trainScratch(images, y, 3, rows, 2, shape);
    expect(first.epochs!.head).toBeGreaterThan(0);
    const exported = await trainScratch(images, y, 3, { ...rows, refitAll: true }, 2, shape);
    const split = await trainScratch(images, y, 3, { ...rows, epochs: first.epochs! }, 2, shape);
    expect([...split.probs]).toEqual([...exported.probs]);
    expect([...split.probs]).not.toEqual([...first.probs]);
  });
});
