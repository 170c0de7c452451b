/**
 * `--trainable N` on plain ONNX backbones: every ONNX op the suffix converter supports, on random
 * inputs and weights, computes in tfjs what onnxruntime-node computes from the ONNX node, and the
 * tfjs model exported again by the tfjs→ONNX converter (what an export contains) does too. Plus
 * the cut rule and the one-line refusals.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { float, GraphBuilder, int, ints, str } from '../../../shared/onnx/builder.ts';
import type { ModelProto } from '../../../shared/onnx/proto.ts';
import { convertLayersModel } from '../../../training/backbones/convert/index.ts';
import { planOnnxCut } from '../../../training/backbones/onnx-suffix/cut.ts';
import { checkConversion } from '../../../training/backbones/onnx-suffix/plan.ts';
import { onnxSuffixToTfjs } from '../../../training/backbones/onnx-suffix/to-tfjs.ts';
import { ortRun } from '../engine/helpers.ts';
import { nhwcToNchw, randomArray, runOnnx, useWasm } from './parity.ts';

const N = 2;
let seed = 100;

interface Built {
  model: ModelProto;
  /** Input [C, H, W] (or [D]). */
  dims: number[];
}

/** A graph x → ... → y built by `body`, which may add initializers with `w`. */
function graph(
  dims: number[],
  body: (g: GraphBuilder, w: (dims: number[], lo?: number, hi?: number) => string) => string,
): Built {
  const g = new GraphBuilder({ name: 't', opset: 17 });
  g.input('x', [N, ...dims]);
  const w = (d: number[], lo = -1, hi = 1) =>
    g.initializer(
      g.unique('w'),
      randomArray(
        d.reduce((a, b) => a * b, 1),
        seed++,
        lo,
        hi,
      ),
      d,
    );
  const y = body(g, w);
  g.output(y);
  return { model: g.build(), dims };
}

const scalar = (g: GraphBuilder, v: number) => g.initializer(g.unique('k'), new Float32Array([v]), []);

/** tfjs (from the ONNX nodes) and the re-exported ONNX against onnxruntime-node on the original. */
async function compare({ model, dims }: Built): Promise<{ tfjs: number; roundTrip: number }> {
  const size = dims.reduce((a, b) => a * b, 1);
  const x = randomArray(N * size, seed++, -2, 2);
  const feature = model.graph!.output![0]!.name!;
  const want = (await ortRun(model, { x: { data: x, dims: [N, ...dims] } }))[feature]!;
  const keras = onnxSuffixToTfjs(model.graph!, {
    boundary: 'x',
    boundaryDims: dims,
    nodes: model.graph!.node!,
    feature,
  });
  const spatial = dims.length === 3;
  const [c, h, w] = dims;
  const nhwc = spatial ? tf.tensor4d(x, [N, c!, h!, w!]).transpose([0, 2, 3, 1]) : tf.tensor(x, [N, ...dims]);
  const out = keras.predict(nhwc) as tf.Tensor;
  let got = out.dataSync() as Float32Array;
  if (out.shape.length === 4) got = nhwcToNchw(got, out.shape as number[]);
  const converted = convertLayersModel(keras);
  const feed = spatial ? nhwcToNchw(nhwc.dataSync() as Float32Array, nhwc.shape as number[]) : x;
  const back = Object.values(
    await runOnnx(converted.bytes, { input: { data: feed, dims: [N, ...dims] } }),
  )[0]!;
  tf.dispose([nhwc, out]);
  keras.dispose();
  const diff = (a: Float32Array) => {
    expect(a.length).toBe(want.data.length);
    let d = 0;
    for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - want.data[i]!));
    return d;
  };
  // Guard against comparing two constant tensors.
  expect(Math.max(...want.data) - Math.min(...want.data)).toBeGreaterThan(1e-3);
  return { tfjs: diff(got), roundTrip: diff(back.data) };
}

const conv = (
  g: GraphBuilder,
  w: (d: number[]) => string,
  x: string,
  [o, i, k]: number[],
  attrs: Record<string, ReturnType<typeof int>>,
  bias = true,
) => g.node('Conv', [x, w([o!, i!, k!, k!]), ...(bias ? [w([o!])] : [])], [g.unique('c')], attrs)[0]!;

const CASES: [string, Built][] = [
  [
    'Conv 3×3, symmetric pads (tf "same"), bias',
    graph([4, 6, 6], (g, w) => conv(g, w, 'x', [5, 4, 3], { pads: ints([1, 1, 1, 1]) })),
  ],
  [
    'Conv 3×3 stride 2, explicit pads, no bias',
    graph([4, 7, 7], (g, w) =>
      conv(g, w, 'x', [3, 4, 3], { pads: ints([1, 1, 1, 1]), strides: ints([2, 2]) }, false),
    ),
  ],
  [
    'Conv 3×3 stride 2, SAME_UPPER',
    graph([4, 8, 8], (g, w) =>
      conv(g, w, 'x', [4, 4, 3], { auto_pad: str('SAME_UPPER'), strides: ints([2, 2]) }),
    ),
  ],
  [
    'Conv 3×3 dilation 2, pads 2',
    graph([4, 8, 8], (g, w) =>
      conv(g, w, 'x', [4, 4, 3], { pads: ints([2, 2, 2, 2]), dilations: ints([2, 2]) }),
    ),
  ],
  [
    'Conv depthwise (group = channels) stride 2',
    graph([4, 6, 6], (g, w) =>
      conv(g, w, 'x', [4, 1, 3], { group: int(4), pads: ints([1, 1, 1, 1]), strides: ints([2, 2]) }),
    ),
  ],
  [
    'Conv depthwise, channel multiplier 2',
    graph([3, 5, 5], (g, w) => conv(g, w, 'x', [6, 1, 3], { group: int(3), pads: ints([1, 1, 1, 1]) })),
  ],
  [
    'BatchNormalization',
    graph(
      [4, 3, 3],
      (g, w) =>
        g.node('BatchNormalization', ['x', w([4]), w([4]), w([4]), w([4], 0.5, 2)], ['y'], {
          epsilon: float(1e-3),
        })[0]!,
    ),
  ],
  ['Relu', graph([4, 3, 3], (g) => g.node('Relu', ['x'], ['y'])[0]!)],
  [
    'Clip 0..6 (ReLU6)',
    graph([4, 3, 3], (g) => g.node('Clip', ['x', scalar(g, 0), scalar(g, 1.5)], ['y'])[0]!),
  ],
  ['Clip −0.5..1', graph([4, 3, 3], (g) => g.node('Clip', ['x', scalar(g, -0.5), scalar(g, 1)], ['y'])[0]!)],
  [
    'HardSigmoid (torch: α 1/6, β 0.5)',
    graph(
      [4, 3, 3],
      (g) => g.node('HardSigmoid', ['x'], ['y'], { alpha: float(1 / 6), beta: float(0.5) })[0]!,
    ),
  ],
  ['HardSwish', graph([4, 3, 3], (g) => g.node('HardSwish', ['x'], ['y'])[0]!)],
  ['Sigmoid', graph([4, 3, 3], (g) => g.node('Sigmoid', ['x'], ['y'])[0]!)],
  [
    'Mul of two tensors (SiLU = x · sigmoid(x))',
    graph([4, 3, 3], (g) => g.node('Mul', ['x', g.node('Sigmoid', ['x'], ['s'])[0]!], ['y'])[0]!),
  ],
  [
    'squeeze-excitation: GlobalAveragePool → Conv → Relu → Conv → HardSigmoid → Mul(x, s)',
    graph([4, 3, 3], (g, w) => {
      const p = g.node('GlobalAveragePool', ['x'], ['p'])[0]!;
      const a = g.node('Relu', [conv(g, w, p, [2, 4, 1], {})], ['a'])[0]!;
      const s = g.node('HardSigmoid', [conv(g, w, a, [4, 2, 1], {})], ['s'], { alpha: float(1 / 6) })[0]!;
      return g.node('Mul', [s, 'x'], ['y'])[0]!;
    }),
  ],
  ['Mul by a constant', graph([4, 3, 3], (g) => g.node('Mul', [scalar(g, 0.7), 'x'], ['y'])[0]!)],
  ['Div by a constant', graph([4, 3, 3], (g) => g.node('Div', ['x', scalar(g, 3)], ['y'])[0]!)],
  ['Sub a constant', graph([4, 3, 3], (g) => g.node('Sub', ['x', scalar(g, 0.25)], ['y'])[0]!)],
  ['Sub from a constant', graph([4, 3, 3], (g) => g.node('Sub', [scalar(g, 1), 'x'], ['y'])[0]!)],
  ['Add a constant', graph([4, 3, 3], (g) => g.node('Add', ['x', scalar(g, -0.4)], ['y'])[0]!)],
  [
    'Add two tensors (residual), Sub two tensors',
    graph([4, 3, 3], (g, w) => {
      const c = conv(g, w, 'x', [4, 4, 3], { pads: ints([1, 1, 1, 1]) });
      const a = g.node('Add', ['x', c], ['a'])[0]!;
      return g.node('Sub', [a, g.node('Relu', ['x'], ['r'])[0]!], ['y'])[0]!;
    }),
  ],
  [
    'Concat on channels',
    graph(
      [4, 3, 3],
      (g, w) => g.node('Concat', [conv(g, w, 'x', [2, 4, 1], {}), 'x'], ['y'], { axis: int(1) })[0]!,
    ),
  ],
  [
    'MaxPool 2×2 stride 2, AveragePool 3×3 stride 1',
    graph([4, 8, 8], (g) => {
      const m = g.node('MaxPool', ['x'], ['m'], { kernel_shape: ints([2, 2]), strides: ints([2, 2]) })[0]!;
      return g.node('AveragePool', [m], ['y'], { kernel_shape: ints([3, 3]) })[0]!;
    }),
  ],
  [
    'GlobalAveragePool → Flatten → Gemm (transB, α, β)',
    graph([4, 3, 3], (g, w) => {
      const f = g.node('Flatten', [g.node('GlobalAveragePool', ['x'], ['p'])[0]!], ['f'], {
        axis: int(1),
      })[0]!;
      return g.node('Gemm', [f, w([5, 4]), w([5])], ['y'], {
        transB: int(1),
        alpha: float(0.5),
        beta: float(2),
      })[0]!;
    }),
  ],
  [
    'GlobalAveragePool → Reshape [0, −1] → MatMul',
    graph([4, 3, 3], (g, w) => {
      const shape = g.initializer('shape', new BigInt64Array([0n, -1n]), [2]);
      const r = g.node('Reshape', [g.node('GlobalAveragePool', ['x'], ['p'])[0]!, shape], ['r'])[0]!;
      return g.node('MatMul', [r, w([4, 3])], ['y'])[0]!;
    }),
  ],
  [
    'Gemm on a vector (no transB), Identity, Dropout',
    graph([6], (g, w) => {
      const d = g.node('Dropout', [g.node('Identity', ['x'], ['i'])[0]!], ['d'])[0]!;
      return g.node('Gemm', [d, w([6, 3]), w([3])], ['y'])[0]!;
    }),
  ],
];

describe('ONNX suffix → tfjs, per op, against onnxruntime-node', () => {
  beforeAll(useWasm);

  for (const [name, built] of CASES) {
    it(name, async () => {
      const { tfjs, roundTrip } = await compare(built);
      expect(tfjs).toBeLessThanOrEqual(1e-5);
      expect(roundTrip).toBeLessThanOrEqual(1e-5);
    });
  }

  it('keeps no tensors once the model is disposed (the ONNX weight copies are freed)', () => {
    const { model, dims } = CASES.find(([n]) => n.startsWith('squeeze-excitation'))![1];
    const before = tf.memory().numTensors;
    const keras = onnxSuffixToTfjs(model.graph!, {
      boundary: 'x',
      boundaryDims: dims,
      nodes: model.graph!.node!,
      feature: model.graph!.output![0]!.name!,
    });
    expect(tf.memory().numTensors).toBeGreaterThan(before);
    keras.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('the conversion check passes a faithful conversion and refuses one that computes something else', async () => {
    const relu = CASES.find(([n]) => n === 'Relu')![1];
    const sigmoid = CASES.find(([n]) => n === 'Sigmoid')![1];
    const toTfjs = ({ model, dims }: Built) =>
      onnxSuffixToTfjs(model.graph!, {
        boundary: 'x',
        boundaryDims: dims,
        nodes: model.graph!.node!,
        feature: 'y',
      });
    const faithful = toTfjs(relu);
    const wrong = toTfjs(sigmoid);
    await expect(checkConversion(relu.model, 'x', relu.dims, 'y', faithful)).resolves.toBeUndefined();
    await expect(checkConversion(relu.model, 'x', relu.dims, 'y', wrong)).rejects.toThrow(
      /^--trainable: the tfjs conversion of the layers after x differs from the ONNX graph \(max \|Δ\| .* on y\); use --trainable 0$/,
    );
    faithful.dispose();
    wrong.dispose();
  });

  it('refuses in one line, naming the node: grouped (not depthwise) conv, per-channel constants, a spatial flatten', () => {
    const refusals: [Built, RegExp][] = [
      [
        graph([4, 3, 3], (g, w) => conv(g, w, 'x', [4, 2, 1], { group: int(2) })),
        /node 'Conv' \(Conv\).*grouped convolution with 2 groups/,
      ],
      [
        graph([4, 3, 3], (g, w) => g.node('Mul', ['x', w([4, 1, 1])], ['y'])[0]!),
        /node 'Mul' \(Mul\).*scalar/,
      ],
      [
        graph([4, 3, 3], (g) => g.node('Flatten', ['x'], ['y'], { axis: int(1) })[0]!),
        /node 'Flatten' \(Flatten\).*3×3 map/,
      ],
    ];
    for (const [{ model, dims }, re] of refusals) {
      const build = () =>
        onnxSuffixToTfjs(model.graph!, {
          boundary: 'x',
          boundaryDims: dims,
          nodes: model.graph!.node!,
          feature: model.graph!.output![0]!.name!,
        });
      expect(build).toThrow(re);
      try {
        build();
      } catch (e) {
        expect((e as Error).message).not.toContain('\n');
      }
    }
  });
});

describe('the cut', () => {
  // x → c1 → r1 → [c2 → Add(r1, ·)] → r2 → c3 → r3 → GAP → Flatten: r1 is crossed by the skip.
  const { model } = graph([4, 4, 4], (g, w) => {
    const r1 = g.node('Relu', [conv(g, w, 'x', [4, 4, 1], {})], ['r1'])[0]!;
    const a = g.node('Add', [r1, conv(g, w, r1, [4, 4, 1], {})], ['a'])[0]!;
    const r2 = g.node('Relu', [a], ['r2'])[0]!;
    const r3 = g.node('Relu', [conv(g, w, r2, [4, 4, 1], {})], ['r3'])[0]!;
    return g.node('Flatten', [g.node('GlobalAveragePool', [r3], ['p'])[0]!], ['y'], { axis: int(1) })[0]!;
  });

  it('is the latest articulation point with at least N convs after it', () => {
    expect(planOnnxCut(model.graph!, 'y', 1)).toMatchObject({ boundary: 'r2', convs: 1 });
    // Between r1 and r2 the skip connection crosses every tensor: the next cut back is r1.
    expect(planOnnxCut(model.graph!, 'y', 2)).toMatchObject({ boundary: 'r1', convs: 2 });
    // The input is not a cut: something must stay frozen.
    expect(() => planOnnxCut(model.graph!, 'y', 3)).toThrow(
      /no cut point with 3 conv layers.*3 conv layers in all/,
    );
    expect(planOnnxCut(model.graph!, 'y', 'r1').boundary).toBe('r1');
    expect(planOnnxCut(model.graph!, 'y', 'a').boundary).toBe('a');
    // The second conv's output: the skip from r1 to the Add crosses it.
    const inBlock = model.graph!.node![2]!.output![0]!;
    expect(() => planOnnxCut(model.graph!, 'y', inBlock)).toThrow(/not a valid freeze boundary/);
  });

  it('refuses an unsupported op after the cut in one line naming the node', () => {
    const g = new GraphBuilder({ name: 't', opset: 17 });
    g.input('x', [N, 4, 4, 4]);
    const r = g.node('Relu', ['x'], ['r'])[0]!;
    const c = g.node(
      'Conv',
      [r, g.initializer('w', randomArray(16, 1), [4, 4, 1, 1])],
      ['c'],
      {},
      { name: 'conv1' },
    )[0]!;
    const l = g.node('LRN', [c], ['l'], { size: int(3) }, { name: 'my_lrn' })[0]!;
    g.node('GlobalAveragePool', [l], ['y']);
    g.output('y');
    expect(() => planOnnxCut(g.build().graph!, 'y', 1)).toThrow(
      /^--trainable: node 'my_lrn' \(LRN\) after the freeze boundary cannot be re-trained \(supported: .*Conv.*\); use a smaller --trainable or --trainable 0$/,
    );
  });
});
