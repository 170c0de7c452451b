import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { GraphBuilder, str } from '../../../shared/onnx/index.ts';
import { resizeBilinear, resizeImage } from '../../../shared/preprocess/index.ts';
import { createRng } from '../../../shared/random.ts';

/** A one-node ONNX model: Resize(linear, half_pixel) of a [1, C, H, W] input to [1, C, h, w]. */
async function ortResize(
  hwc: Float32Array,
  w: number,
  h: number,
  c: number,
  outW: number,
  outH: number,
): Promise<Float32Array> {
  const g = new GraphBuilder({ name: 'resize', opset: 17 });
  g.input('x', [1, c, h, w]);
  g.initializer('sizes', [1, c, outH, outW], [4]);
  g.node('Resize', ['x', '', '', 'sizes'], ['y'], {
    mode: str('linear'),
    coordinate_transformation_mode: str('half_pixel'),
  });
  g.output('y', [1, c, outH, outW]);
  const session = await ort.InferenceSession.create(g.toBytes());
  const chw = new Float32Array(hwc.length);
  for (let p = 0; p < w * h; p++) for (let k = 0; k < c; k++) chw[k * w * h + p] = hwc[p * c + k]!;
  const { y } = await session.run({ x: new ort.Tensor('float32', chw, [1, c, h, w]) });
  await session.release();
  const out = y!.data as Float32Array;
  const back = new Float32Array(out.length);
  for (let p = 0; p < outW * outH; p++)
    for (let k = 0; k < c; k++) back[p * c + k] = out[k * outW * outH + p]!;
  return back;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('resizeBilinear matches onnxruntime Resize (linear, half_pixel)', () => {
  // [in w, in h, channels, out w, out h]: down, up, mixed, non-integer ratios, 1-px edges, identity.
  const cases: [number, number, number, number, number][] = [
    [64, 48, 3, 28, 28],
    [451, 300, 3, 224, 224],
    [20, 20, 1, 28, 28],
    [7, 5, 3, 31, 17],
    [37, 23, 1, 16, 40],
    [1, 1, 3, 5, 4],
    [9, 1, 1, 3, 6],
    [13, 11, 3, 13, 11],
  ];
  for (const [w, h, c, ow, oh] of cases) {
    it(`${w}×${h}×${c} → ${ow}×${oh}`, async () => {
      const rng = createRng(w * 1000 + h * 10 + c);
      const unit = Float32Array.from({ length: w * h * c }, () => rng());
      const ours = resizeBilinear({ width: w, height: h, channels: c, data: unit }, ow, oh);
      const theirs = await ortResize(unit, w, h, c, ow, oh);
      expect(maxAbsDiff(ours, theirs)).toBeLessThanOrEqual(1e-4);
      // 8-bit input (what decoded images are): same sampling at the 0..255 scale.
      const bytes = Uint8Array.from(unit, (v) => Math.floor(v * 256));
      const ours8 = resizeBilinear({ width: w, height: h, channels: c, data: bytes }, ow, oh);
      const theirs8 = await ortResize(Float32Array.from(bytes), w, h, c, ow, oh);
      expect(maxAbsDiff(ours8, theirs8)).toBeLessThanOrEqual(255e-4);
    });
  }
});

describe('resizeBilinear definition', () => {
  it('is an exact copy at the same size and exact at known half-pixel positions', () => {
    const data = Uint8Array.from([0, 100, 200, 50]);
    expect(Array.from(resizeBilinear({ width: 2, height: 2, channels: 1, data }, 2, 2))).toEqual([
      0, 100, 200, 50,
    ]);
    // 2 → 4 along x: positions −0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1).
    const row = resizeBilinear({ width: 2, height: 1, channels: 1, data: Uint8Array.from([0, 100]) }, 4, 1);
    expect(Array.from(row)).toEqual([0, 25, 75, 100]);
    // 4 → 2: positions 0.5 and 2.5, i.e. means of neighbours.
    const down = resizeBilinear(
      { width: 4, height: 1, channels: 1, data: Uint8Array.from([0, 10, 20, 40]) },
      2,
      1,
    );
    expect(Array.from(down)).toEqual([5, 30]);
  });

  it('resizeImage rounds half up to 8 bits', () => {
    const img = resizeImage({ width: 2, height: 1, channels: 1, data: Uint8Array.from([0, 1]) }, 4, 1);
    expect(Array.from(img.data)).toEqual([0, 0, 1, 1]); // 0, 0.25, 0.75, 1
    const mid = resizeImage({ width: 2, height: 1, channels: 1, data: Uint8Array.from([0, 3]) }, 1, 1);
    expect(Array.from(mid.data)).toEqual([2]); // 1.5 → 2
  });

  it('rejects bad sizes', () => {
    const img = { width: 2, height: 2, channels: 1, data: new Uint8Array(4) };
    expect(() => resizeBilinear(img, 0, 3)).toThrow(RangeError);
    expect(() => resizeBilinear({ ...img, data: new Uint8Array(3) }, 2, 2)).toThrow(RangeError);
  });
});
