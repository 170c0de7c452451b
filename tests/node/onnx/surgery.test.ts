import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { EdgetuneError } from '../../../shared/errors.ts';
import {
  addOutputs,
  appendSubgraph,
  assertValid,
  cutAt,
  decodeModel,
  encodeModel,
  GraphBuilder,
  inspectModel,
  type ModelProto,
  type onnx,
  readTensorFloat32,
  renameTensor,
  replaceInitializers,
  validateModel,
} from '../../../shared/onnx/index.ts';

/**
 * Two inputs, two branches:  a → Relu → r → Mul(w) → m ─┐
 *                             b → Neg  → n ─────────────── Add → out
 *                             a → Sigmoid → s (only feeds side output)
 */
function twoBranch(): onnx.ModelProto {
  const g = new GraphBuilder({ name: 'two' });
  g.input('a', [1, 3]);
  g.input('b', [1, 3]);
  const w = g.initializer('w', new Float32Array([1, 2, 3]), [3]);
  g.initializer('unused_by_a', new Float32Array([9]), [1]);
  g.node('Relu', ['a'], ['r'], undefined, { name: 'relu' });
  g.node('Mul', ['r', w], ['m'], undefined, { name: 'mul' });
  g.node('Neg', ['b'], ['n'], undefined, { name: 'neg' });
  g.node('Add', ['m', 'n'], ['out'], undefined, { name: 'add' });
  g.node('Add', ['n', 'unused_by_a'], ['side'], undefined, { name: 'side' });
  g.output('out', [1, 3]);
  g.output('side', [1, 3]);
  return g.build();
}

async function run(model: ModelProto, feeds: Record<string, number[]>): Promise<Record<string, number[]>> {
  const session = await ort.InferenceSession.create(encodeModel(model));
  try {
    const tensors = Object.fromEntries(
      Object.entries(feeds).map(([k, v]) => [
        k,
        new ort.Tensor('float32', Float32Array.from(v), [1, v.length]),
      ]),
    );
    const out = await session.run(tensors);
    return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, Array.from(t.data as Float32Array)]));
  } finally {
    await session.release();
  }
}

const names = (m: ModelProto) => ({
  nodes: m.graph?.node?.map((n) => n.name),
  inputs: m.graph?.input?.map((i) => i.name),
  initializers: m.graph?.initializer?.map((i) => i.name),
  outputs: m.graph?.output?.map((o) => o.name),
});

describe('surgery', () => {
  it('cutAt keeps exactly what computes the tensor, and leaves the original alone', async () => {
    const model = twoBranch();
    const before = encodeModel(model);
    const cut = cutAt(model, 'm');
    expect(names(cut)).toEqual({
      nodes: ['relu', 'mul'],
      inputs: ['a'],
      initializers: ['w'],
      outputs: ['m'],
    });
    expect(inspectModel(cut).outputs).toEqual([{ name: 'm', shape: [1, 3], elemType: 'FLOAT' }]);
    expect(validateModel(cut)).toEqual([]);
    expect(await run(cut, { a: [-1, 1, 2] })).toEqual({ m: [0, 2, 6] });
    expect(Buffer.from(encodeModel(model)).equals(Buffer.from(before))).toBe(true);
    expect(() => cutAt(model, 'nope')).toThrow(expect.objectContaining({ code: 'not_found' }));
  });

  it('addOutputs exposes intermediate tensors with inferred shapes', async () => {
    const model = addOutputs(twoBranch(), ['r', 'n', 'out']);
    expect(model.graph!.output!.map((o) => o.name)).toEqual(['out', 'side', 'r', 'n']);
    expect(inspectModel(model).outputs.find((o) => o.name === 'r')).toEqual({
      name: 'r',
      shape: [1, 3],
      elemType: 'FLOAT',
    });
    const out = await run(model, { a: [-1, 1, 2], b: [1, 1, 1] });
    expect(out.r).toEqual([0, 1, 2]);
    expect(out.out).toEqual([-1, 1, 5]);
    expect(() => addOutputs(model, ['ghost'])).toThrow(EdgetuneError);
  });

  it('appendSubgraph adds a head and prunes what only fed the replaced outputs', async () => {
    const headed = appendSubgraph(twoBranch(), 'm', (g, input) => {
      const [scaled] = g.node(
        'Mul',
        [input, g.initializer(g.unique('k'), new Float32Array([10]), [1])],
        [g.unique('scaled')],
      );
      return g.node('Softmax', [scaled!], ['probs']);
    });
    expect(names(headed).outputs).toEqual(['probs']);
    expect(names(headed).nodes).toEqual(['relu', 'mul', 'Mul', 'Softmax']);
    expect(names(headed).initializers).toEqual(['w', 'k']);
    expect(validateModel(headed)).toEqual([]);
    // Graph inputs are the model's contract: kept even when the new head does not read them.
    expect(names(headed).inputs).toEqual(['a', 'b']);
    const out = await run(headed, { a: [0.1, 0, 0], b: [0, 0, 0] });
    const z = [1, 0, 0].map(Math.exp);
    const sum = z.reduce((s, v) => s + v, 0);
    expect(out.probs!.map((p) => Number(p.toFixed(6)))).toEqual(z.map((v) => Number((v / sum).toFixed(6))));

    const kept = appendSubgraph(twoBranch(), 'n', (g, input) => g.node('Abs', [input], ['abs']), {
      keepOutputs: true,
    });
    expect(names(kept).outputs).toEqual(['out', 'side', 'abs']);
    expect(() => appendSubgraph(twoBranch(), 'm', (g, input) => g.node('Relu', [input], ['out']))).toThrow(
      /already defined/,
    );
    expect(() => appendSubgraph(twoBranch(), 'zz', () => ['x'])).toThrow(
      expect.objectContaining({ code: 'not_found' }),
    );
  });

  it('replaceInitializers swaps weights and refuses type or shape changes', async () => {
    const model = twoBranch();
    const swapped = replaceInitializers(model, { w: { data: new Float32Array([-1, 0, 4]), dims: [3] } });
    expect(Array.from(readTensorFloat32(swapped.graph!.initializer![0]!))).toEqual([-1, 0, 4]);
    expect(Array.from(readTensorFloat32(model.graph!.initializer![0]!))).toEqual([1, 2, 3]);
    expect((await run(swapped, { a: [1, 1, 1], b: [0, 0, 0] })).out).toEqual([-1, 0, 4]);
    expect(() => replaceInitializers(model, { w: { data: new Float32Array(4), dims: [4] } })).toThrow(/dims/);
    expect(() => replaceInitializers(model, { w: { data: [1, 2, 3], dims: [3] } })).toThrow(/INT64/);
    expect(() => replaceInitializers(model, { nope: { data: new Float32Array(1), dims: [1] } })).toThrow(
      expect.objectContaining({ code: 'not_found' }),
    );
    const grown = replaceInitializers(
      model,
      { unused_by_a: { data: new Float32Array(3), dims: [3] } },
      {
        allowShapeChange: true,
      },
    );
    expect(grown.graph!.initializer![1]!.dims).toEqual([3]);
  });

  it('renameTensor renames inputs, outputs and every use', async () => {
    let model: ModelProto = renameTensor(twoBranch(), 'a', 'image');
    model = renameTensor(model, 'out', 'logits');
    model = renameTensor(model, 'w', 'weights');
    expect(validateModel(model)).toEqual([]);
    const out = await run(model, { image: [1, 2, 3], b: [1, 1, 1] });
    expect(out.logits).toEqual([0, 3, 8]);
    expect(() => renameTensor(model, 'b', 'image')).toThrow(expect.objectContaining({ code: 'conflict' }));
    expect(() => renameTensor(model, 'a', 'x')).toThrow(expect.objectContaining({ code: 'not_found' }));
  });
});

describe('validateModel', () => {
  const codes = (m: ModelProto) => validateModel(m).map((p) => p.code);
  const clone = (m: ModelProto): onnx.ModelProto => decodeModel(encodeModel(m));

  it('accepts a well-formed model', () => {
    expect(validateModel(twoBranch())).toEqual([]);
    expect(() => assertValid(twoBranch())).not.toThrow();
  });

  it('reports undefined inputs, wrong order, duplicates, dangling nodes, missing outputs and opsets', () => {
    const undefinedInput = clone(twoBranch());
    undefinedInput.graph!.node![1]!.input = ['r', 'missing_weight'];
    expect(codes(undefinedInput)).toEqual(['undefined_input']);
    expect(validateModel(undefinedInput)[0]!.message).toMatch(/mul reads missing_weight/);

    const swapped = clone(twoBranch());
    const nodes = swapped.graph!.node!;
    [nodes[0], nodes[1]] = [nodes[1]!, nodes[0]!];
    expect(codes(swapped)).toEqual(['not_topological']);

    const dup = clone(twoBranch());
    dup.graph!.node![2]!.output = ['r'];
    expect(codes(dup)).toContain('duplicate_definition');

    const dangling = clone(twoBranch());
    dangling.graph!.output = dangling.graph!.output!.filter((o) => o.name === 'out');
    expect(validateModel(dangling)).toEqual([
      { code: 'dangling_node', message: 'node side does not contribute to any graph output', node: 'side' },
    ]);

    const noOutput = clone(twoBranch());
    noOutput.graph!.output!.push({ name: 'ghost' }, { name: 'out' });
    expect(codes(noOutput)).toEqual(['undefined_output', 'duplicate_output']);

    const opset = clone(twoBranch());
    opset.graph!.node![0]!.domain = 'com.example';
    expect(codes(opset)).toEqual(['missing_opset']);

    expect(codes({ irVersion: 8 })).toEqual(['no_graph']);
  });

  it('assertValid throws a corrupt error that names the problems', () => {
    const broken = clone(twoBranch());
    broken.graph!.node![3]!.input = ['m', 'nothing'];
    expect(() => assertValid(broken)).toThrow(
      expect.objectContaining({ code: 'corrupt', message: expect.stringMatching(/add reads nothing/) }),
    );
  });

  it('reports corrupt bytes as corrupt, never as a crash', () => {
    const bytes = encodeModel(twoBranch());
    const bad: Uint8Array[] = [
      new TextEncoder().encode('definitely not protobuf'),
      bytes.subarray(0, Math.floor(bytes.length / 2)),
      new Uint8Array(0),
      Uint8Array.from([0x08, 0x08]), // a valid ModelProto (ir_version 8) without a graph
    ];
    for (const b of bad) {
      expect(() => decodeModel(b)).toThrow(expect.objectContaining({ code: 'corrupt' }));
    }
  });
});
