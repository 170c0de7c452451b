/**
 * The one window-arithmetic module (engine, shape inference and converter use it): the explicit
 * pads it derives from auto_pad must give onnxruntime-node the same values as auto_pad itself,
 * and its output sizes the same dims, including ceil mode.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { encodeModel, GraphBuilder, int, ints, str } from '../../../shared/onnx/index.ts';
import { outputSize1d, samePadding1d, windowAttrs, windowPads2d } from '../../../shared/onnx/window.ts';
import { createRng, gaussian } from '../../../shared/random.ts';

const H = 11;
const W = 8;

async function runMaxPool(attrs: Parameters<GraphBuilder['node']>[3]): Promise<ort.Tensor> {
  const g = new GraphBuilder({ name: 'pool' });
  g.input('x', [1, 2, H, W]);
  const [y] = g.node('MaxPool', ['x'], ['y'], attrs);
  g.output(y!);
  const session = await ort.InferenceSession.create(encodeModel(g.build()));
  const rng = createRng(3);
  const data = Float32Array.from({ length: 2 * H * W }, () => gaussian(rng));
  const out = await session.run({ x: new ort.Tensor('float32', data, [1, 2, H, W]) });
  await session.release();
  return out.y!;
}

describe('window arithmetic', () => {
  for (const autoPad of ['SAME_UPPER', 'SAME_LOWER'] as const) {
    it(`explicit pads for ${autoPad} reproduce onnxruntime's own ${autoPad} (kernel 4x3, strides 3x2)`, async () => {
      const base = { kernel_shape: ints([4, 3]), strides: ints([3, 2]) };
      const auto = await runMaxPool({ ...base, auto_pad: str(autoPad) });
      const built = new GraphBuilder({ name: 'n' });
      built.node('MaxPool', ['x'], ['y'], { ...base, auto_pad: str(autoPad) });
      const pads = windowPads2d(built.build().graph!.node![0]!, H, W, [4, 3], [3, 2], [1, 1]);
      const explicit = await runMaxPool({ ...base, pads: ints(pads) });
      expect(explicit.dims).toEqual(auto.dims);
      expect(Array.from(explicit.data as Float32Array)).toEqual(Array.from(auto.data as Float32Array));
      expect(auto.dims.slice(2)).toEqual([
        outputSize1d(H, 4, 3, 1, [pads[0], pads[2]]),
        outputSize1d(W, 3, 2, 1, [pads[1], pads[3]]),
      ]);
    });
  }

  it('ceil mode output size matches onnxruntime (last window must start inside the input)', async () => {
    const pads = [1, 0, 1, 2];
    const y = await runMaxPool({
      kernel_shape: ints([3, 3]),
      strides: ints([2, 3]),
      pads: ints(pads),
      ceil_mode: int(1),
    });
    expect(y.dims.slice(2)).toEqual([
      outputSize1d(H, 3, 2, 1, [pads[0]!, pads[2]!], true),
      outputSize1d(W, 3, 3, 1, [pads[1]!, pads[3]!], true),
    ]);
  });

  it('TF "same" puts the odd pixel at the end, SAME_LOWER at the beginning', () => {
    expect(samePadding1d(224, 3, 2, 1)).toEqual([0, 1]);
    expect(samePadding1d(224, 3, 2, 1, true)).toEqual([1, 0]);
    const g = new GraphBuilder({ name: 'a' });
    g.node('Conv', ['x', 'w'], ['y'], { strides: ints([2, 2]) });
    expect(windowAttrs(g.build().graph!.node![0]!, 2)).toEqual({
      strides: [2, 2],
      dilations: [1, 1],
      pads: [0, 0, 0, 0],
      autoPad: 'NOTSET',
    });
  });
});
