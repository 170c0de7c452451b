// Static shape inference checked against what onnxruntime actually produces for every tensor.
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import {
  addOutputs,
  encodeModel,
  float,
  GraphBuilder,
  inferShapes,
  inspectModel,
  int,
  ints,
  matmulShape,
  str,
  TensorDataType,
  UNKNOWN_DIM,
} from '../../../shared/onnx/index.ts';
import { createRng, gaussian } from '../../../shared/random.ts';

function randn(n: number, seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => gaussian(rng) * 0.1);
}

/** A graph touching most modelled ops, with awkward sizes (odd, asymmetric pads, ceil mode). */
function zoo(): GraphBuilder {
  const g = new GraphBuilder({ name: 'zoo' });
  const x = g.input('x', [2, 6, 17, 15]);
  const w1 = g.initializer('w1', randn(8 * 3 * 3 * 3, 1), [8, 3, 3, 3]);
  const [c1] = g.node('Conv', [x, w1], ['c1'], {
    group: int(2),
    strides: ints([2, 1]),
    pads: ints([1, 0, 2, 1]),
    dilations: ints([1, 2]),
  });
  const w2 = g.initializer('w2', randn(8 * 1 * 3 * 3, 2), [8, 1, 3, 3]);
  const [c2] = g.node('Conv', [c1!, w2], ['c2'], {
    group: int(8),
    auto_pad: str('SAME_UPPER'),
    strides: ints([2, 2]),
  });
  const [bn] = g.node(
    'BatchNormalization',
    [
      c2!,
      g.initializer('s', randn(8, 3), [8]),
      g.initializer('b', randn(8, 4), [8]),
      g.initializer('m', randn(8, 5), [8]),
      g.initializer(
        'v',
        Float32Array.from(randn(8, 6), (v) => 1 + Math.abs(v)),
        [8],
      ),
    ],
    ['bn'],
  );
  const [hs] = g.node('HardSwish', [bn!], ['hs']);
  const [lr] = g.node('LeakyRelu', [hs!], ['lr'], { alpha: float(0.1) });
  const [mp] = g.node('MaxPool', [lr!], ['mp'], {
    kernel_shape: ints([3, 3]),
    strides: ints([2, 2]),
    ceil_mode: int(1),
  });
  const [ap] = g.node('AveragePool', [c1!], ['ap'], { kernel_shape: ints([2, 3]), pads: ints([0, 1, 1, 1]) });
  const [pd] = g.node('Pad', [mp!, g.initializer('pads', [0, 0, 1, 2, 0, 0, 0, 1], [8])], ['pd']);
  const [rs] = g.node(
    'Resize',
    [pd!, '', g.initializer('scales', new Float32Array([1, 1, 2, 1.5]), [4])],
    ['rs'],
    {
      mode: str('nearest'),
    },
  );
  const [ct] = g.node(
    'ConvTranspose',
    [rs!, g.initializer('wt', randn(8 * 2 * 3 * 3, 7), [8, 2, 3, 3])],
    ['ct'],
    {
      strides: ints([2, 2]),
      pads: ints([1, 1, 1, 1]),
      output_padding: ints([1, 0]),
      group: int(2),
    },
  );
  const [gm] = g.node('GlobalMaxPool', [ct!], ['gm']);
  const [sq] = g.node('Squeeze', [gm!, g.initializer('sq_axes', [2, 3], [2])], ['sq']);
  const [us] = g.node('Unsqueeze', [sq!, g.initializer('us_axes', [1], [1])], ['us']);
  const [tp] = g.node('Transpose', [ap!], ['tp'], { perm: ints([0, 2, 3, 1]) });
  const [rh] = g.node('Reshape', [tp!, g.initializer('shape', [0, -1, 8], [3])], ['rh']);
  const [mm] = g.node('MatMul', [rh!, g.initializer('mmw', randn(8 * 5, 8), [8, 5])], ['mm']);
  const [sm] = g.node('Softmax', [mm!], ['sm'], { axis: int(-1) });
  const [fl] = g.node('Flatten', [sm!], ['fl'], { axis: int(1) });
  const [gemm] = g.node('Gemm', [g.initializer('ga', randn(7 * 2, 9), [2, 7]), fl!], ['gemm'], {
    transA: int(1),
  });
  const [sg] = g.node('Sigmoid', [gemm!], ['sg']);
  const [mul] = g.node('Mul', [us!, g.initializer('k', randn(3, 10), [3, 1])], ['mul']);
  const [cc] = g.node('Concat', [mul!, mul!], ['cc'], { axis: int(0) });
  const [rm] = g.node('ReduceMean', [cc!], ['rm'], { axes: ints([1]), keepdims: int(0) });
  const [shp] = g.node('Shape', [ct!], ['shp']);
  const [gat] = g.node('Gather', [shp!, g.initializer('idx', [2, 3], [2])], ['gat']);
  const [cat] = g.node('Concat', [g.initializer('lead', [2, -1], [2]), gat!], ['cat'], { axis: int(0) });
  const [rh2] = g.node('Reshape', [ct!, cat!], ['rh2']);
  for (const o of [sg!, rm!, rh2!]) g.output(o);
  return g;
}

describe('inferShapes', () => {
  it('agrees with onnxruntime on every tensor of an op zoo', async () => {
    const model = zoo().build();
    const shapes = inferShapes(model);
    const names = (model.graph?.node ?? []).flatMap((n) => n.output ?? []);
    const session = await ort.InferenceSession.create(encodeModel(addOutputs(model, names)));
    const x = new ort.Tensor('float32', randn(2 * 6 * 17 * 15, 11), [2, 6, 17, 15]);
    const out = await session.run({ x });
    expect(Object.keys(out).sort()).toEqual([...names].sort());
    const mismatches = names.filter(
      (n) => JSON.stringify(shapes.get(n)?.shape) !== JSON.stringify(out[n]!.dims),
    );
    expect(mismatches.map((n) => `${n}: inferred ${shapes.get(n)?.shape} ort ${out[n]!.dims}`)).toEqual([]);
    expect(shapes.get('shp')?.elemType).toBe(TensorDataType.INT64);
    await session.release();
  });

  it('carries symbolic dims and marks what cannot be known', () => {
    const g = new GraphBuilder({ name: 'sym' });
    g.input('x', ['N', 3, 'H', 32]);
    const [c] = g.node('Conv', ['x', g.initializer('w', randn(4 * 3 * 9, 1), [4, 3, 3, 3])], ['c'], {
      pads: ints([1, 1, 1, 1]),
    });
    const [f] = g.node('Flatten', [c!], ['f']);
    const [p] = g.node('GlobalAveragePool', [c!], ['p']);
    const [r] = g.node('Reshape', [p!, g.initializer('s', [-1, 4], [2])], ['r']);
    g.output(f!);
    g.output(r!);
    const shapes = inferShapes(g.build());
    expect(shapes.get('c')?.shape).toEqual(['N', 4, UNKNOWN_DIM, 32]);
    expect(shapes.get('f')?.shape).toEqual(['N', UNKNOWN_DIM]);
    expect(shapes.get('r')?.shape).toEqual(['N', 4]);
  });

  it('leaves outputs of unknown ops unknown instead of failing, and says MACs are incomplete', () => {
    const g = new GraphBuilder({ name: 'mystery' });
    g.input('x', [1, 3, 8, 8]);
    const [m] = g.node('Mystery', ['x'], ['m'], undefined, { domain: 'example.custom' });
    const [r] = g.node('Relu', [m!], ['r']);
    const [c] = g.node('Conv', [r!, g.initializer('w', randn(2 * 3, 1), [2, 3, 1, 1])], ['c'], undefined, {
      name: 'conv_after_mystery',
    });
    g.output(c!);
    const model = g.build();
    const shapes = inferShapes(model);
    expect(shapes.get('m')).toBeUndefined();
    expect(shapes.get('r')?.shape).toBeUndefined();
    const s = inspectModel(model);
    expect(s.macs).toBe(0);
    expect(s.macsUnknown).toEqual(['conv_after_mystery']);
    expect(s.opHistogram).toEqual({ 'example.custom:Mystery': 1, Relu: 1, Conv: 1 });
    expect(s.opsets).toEqual({ 'ai.onnx': 17, 'example.custom': 1 });
  });

  it('follows numpy matmul rules', () => {
    expect(matmulShape(['N', 3, 4], [4, 5])).toEqual(['N', 3, 5]);
    expect(matmulShape([2, 1, 3, 4], [7, 4, 6])).toEqual([2, 7, 3, 6]);
    expect(matmulShape([4], [4, 6])).toEqual([6]);
    expect(matmulShape([3, 4], [4])).toEqual([3]);
  });

  it('counts MACs for grouped, depthwise, Gemm and MatMul nodes', () => {
    const g = new GraphBuilder({ name: 'macs' });
    g.input('x', [1, 8, 10, 10]);
    g.node('Conv', ['x', g.initializer('w', randn(16 * 4 * 9, 1), [16, 4, 3, 3])], ['a'], {
      group: int(2),
      pads: ints([1, 1, 1, 1]),
    });
    g.node('Conv', ['a', g.initializer('dw', randn(16 * 9, 2), [16, 1, 3, 3])], ['b'], {
      group: int(16),
      strides: ints([2, 2]),
      pads: ints([1, 1, 1, 1]),
    });
    g.node('Flatten', ['b'], ['f']);
    g.node('Gemm', ['f', g.initializer('gw', randn(3 * 400, 3), [3, 400])], ['y'], { transB: int(1) });
    g.node('MatMul', ['y', g.initializer('mw', randn(3 * 2, 4), [3, 2])], ['z']);
    g.output('z');
    const s = inspectModel(g.build());
    const grouped = 16 * 10 * 10 * (4 * 9);
    const depthwise = 16 * 5 * 5 * 9;
    expect(s.macs).toBe(grouped + depthwise + 400 * 3 + 3 * 2);
    expect(s.outputs).toEqual([{ name: 'z', shape: [1, 2], elemType: 'FLOAT' }]);
  });
});
