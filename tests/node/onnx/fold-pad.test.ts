import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { foldPadsIntoConvs } from '../../../shared/onnx/fold-pad.ts';
import { encodeModel, GraphBuilder, ints, type ModelProto, str } from '../../../shared/onnx/index.ts';
import { createRng, gaussian } from '../../../shared/random.ts';

/** x → Pad(top/left 0, bottom/right 1) → Conv 3×3 stride 2 (pads 1,0,0,1) → y, and a second Pad whose value is not 0. */
function padded(padValue = 0): ModelProto {
  const rng = createRng(7);
  const g = new GraphBuilder({ name: 'pad-conv' });
  g.input('x', [1, 3, 9, 11]);
  const w = g.initializer(
    'w',
    Float32Array.from({ length: 4 * 3 * 9 }, () => gaussian(rng)),
    [4, 3, 3, 3],
  );
  const b = g.initializer(
    'b',
    Float32Array.from({ length: 4 }, () => gaussian(rng)),
    [4],
  );
  const pads = g.initializer('pads', [0, 0, 0, 0, 0, 0, 1, 1], [8]);
  const value = g.initializer('value', new Float32Array([padValue]), []);
  g.node('Pad', ['x', pads, value], ['xp'], { mode: str('constant') });
  g.node('Conv', ['xp', w, b], ['y'], {
    kernel_shape: ints([3, 3]),
    strides: ints([2, 2]),
    pads: ints([1, 0, 0, 1]),
  });
  g.output('y');
  return g.build();
}

async function run(model: ModelProto, x: Float32Array): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(encodeModel(model));
  const out = await s.run({ x: new ort.Tensor('float32', x, [1, 3, 9, 11]) });
  return out.y!.data as Float32Array;
}

describe('foldPadsIntoConvs', () => {
  const rng = createRng(3);
  const x = Float32Array.from({ length: 3 * 9 * 11 }, () => gaussian(rng));

  it('moves a zero spatial Pad into the conv and computes the same values', async () => {
    const model = padded();
    const folded = foldPadsIntoConvs(model);
    expect(folded.graph!.node!.map((n) => n.opType)).toEqual(['Conv']);
    const conv = folded.graph!.node![0]!;
    expect(conv.input![0]).toBe('x');
    expect(conv.attribute!.find((a) => a.name === 'pads')!.ints!.map(Number)).toEqual([1, 0, 1, 2]);
    expect(folded.graph!.initializer!.some((t) => t.name === 'pads')).toBe(false);
    const [a, b] = [await run(model, x), await run(folded, x)];
    expect(b.length).toBe(a.length);
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-5);
  });

  it('leaves a Pad with a non-zero value alone', () => {
    const model = padded(1);
    expect(foldPadsIntoConvs(model)).toBe(model);
  });
});
