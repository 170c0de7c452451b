import { describe, expect, it } from 'vitest';
import { PreprocessSpecSchema } from '../../../shared/manifest/preprocess.ts';
import { createRng } from '../../../shared/random.ts';
import type { Sample } from '../../../training/datasets/types.ts';
import { constantFeatureWarning, upscaleWarning } from '../../../training/train/input-warnings.ts';

const sample = (side: number): Sample => ({
  id: String(side),
  label: 0,
  source: `img${side}`,
  image: { width: side, height: side, channels: 3, data: new Uint8Array(side * side * 3) },
});

describe('training warnings', () => {
  it('warns when the backbone input is 4× or more the median image side', () => {
    const spec = PreprocessSpecSchema.parse({ width: 224, height: 224, channels: 3, layout: 'NCHW' });
    expect(upscaleWarning([20, 28, 28].map(sample), spec)).toMatch(
      /224×224\) is 8× the images' median size \(28 px\)/,
    );
    expect(upscaleWarning([56, 100, 300].map(sample), spec)).toBeUndefined();
  });

  it('warns about features that do not vary across images, not about ones that do', () => {
    const rng = createRng(3);
    const n = 8;
    const dim = 16;
    const varied = Float32Array.from({ length: n * dim }, () => rng() + 1);
    expect(constantFeatureWarning(varied, n, dim, 'f')).toBeUndefined();
    const base = Float32Array.from({ length: dim }, () => rng() + 1);
    const flat = Float32Array.from({ length: n * dim }, (_, i) => base[i % dim]! * (1 + 1e-6 * (i % 3)));
    expect(constantFeatureWarning(flat, n, dim, 'f')).toMatch(
      /features at f are \(near\) constant across the 8 training images/,
    );
    expect(constantFeatureWarning(new Float32Array(n * dim), n, dim, 'zero')).toMatch(/relative spread 0/);
  });
});
