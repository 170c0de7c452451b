/**
 * Graph rewrites that make a foreign CNN export usable as a backbone without hand editing:
 * an NCHW image input, a free batch dim, a sensible default feature tensor, and pooling added
 * to a spatial feature tensor. Each computes the same values as the graph it was given.
 */
import { EdgetuneError } from '../errors.ts';
import { attrInts } from './attributes.ts';
import type { Dim } from './builder.ts';
import { imageInput } from './input-shape.ts';
import type { ModelProto, NodeProto, onnx } from './proto.ts';
import { inferShapes, shapeFromValueInfo } from './shapes.ts';
import { makeTensor, readTensorInts } from './tensor.ts';

function withDims(vi: onnx.IValueInfoProto, dims: readonly Dim[]): onnx.IValueInfoProto {
  const dim = dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { ...vi, type: { ...vi.type, tensorType: { ...vi.type!.tensorType, shape: { dim } } } };
}

function rename(nodes: NodeProto[], from: string, to: string): NodeProto[] {
  return nodes.map((n) => ({ ...n, input: (n.input ?? []).map((i) => (i === from ? to : i)) }));
}

/**
 * An NHWC image input becomes NCHW under the same name. When the graph's first step transposes it
 * to NCHW (what exporters of channels-last models emit) that Transpose is removed; otherwise one
 * is added in front so the rest of the graph still reads NHWC.
 */
export function toNchwInput(model: ModelProto): ModelProto {
  const g = model.graph!;
  const input = imageInput(model);
  const name = input.name!;
  const dims = shapeFromValueInfo(input)?.shape;
  if (dims?.length !== 4) throw new EdgetuneError('bad_request', `input ${name} is not rank 4`);
  const [n, h, w, c] = dims as [Dim, Dim, Dim, Dim];
  const nchw = withDims(input, [n, c, h, w]);
  const nodes = g.node ?? [];
  const users = nodes.filter((x) => (x.input ?? []).includes(name));
  const only = users.length === 1 ? users[0] : undefined;
  let rewritten: NodeProto[];
  if (only?.opType === 'Transpose' && (attrInts(only, 'perm') ?? []).join(',') === '0,3,1,2') {
    rewritten = rename(
      nodes.filter((x) => x !== only),
      only.output![0]!,
      name,
    );
  } else {
    const nhwc = `${name}__nhwc`;
    rewritten = [
      {
        opType: 'Transpose',
        name: `${name}/to_nhwc`,
        input: [name],
        output: [nhwc],
        attribute: [{ name: 'perm', type: 7, ints: [0, 2, 3, 1] }],
      },
      ...rename(nodes, name, nhwc),
    ];
  }
  return {
    ...model,
    graph: {
      ...g,
      node: rewritten,
      input: (g.input ?? []).map((i) => (i === input ? nchw : i)),
      valueInfo: [],
    },
  };
}

/**
 * A batch dim fixed at 1 (torch.onnx's default) becomes symbolic 'N' on the input and outputs, so
 * training can run batches. Reshape targets that repeat the literal batch of 1 in front of a
 * flatten ([1, -1], [1, C]) are turned into [0, …] (copy the batch), which is what they meant.
 */
export function freeBatch(model: ModelProto): ModelProto {
  const g = model.graph!;
  const input = imageInput(model);
  const dims = shapeFromValueInfo(input)?.shape ?? [];
  if (dims[0] !== 1) return model;
  const inits = new Map((g.initializer ?? []).map((t) => [t.name ?? '', t]));
  const initializer = [...(g.initializer ?? [])];
  const nodes = (g.node ?? []).map((node) => {
    const target = node.opType === 'Reshape' ? inits.get(node.input?.[1] ?? '') : undefined;
    if (!target) return node;
    const shape = readTensorInts(target);
    if (shape.length !== 2 || shape[0] !== 1) return node;
    const name = `${target.name}__batch`;
    if (!inits.has(name)) {
      const t = makeTensor(name, [0, shape[1]!], [2]);
      inits.set(name, t);
      initializer.push(t);
    }
    return { ...node, input: [node.input![0]!, name] };
  });
  const relax = (vi: onnx.IValueInfoProto) => {
    const s = shapeFromValueInfo(vi)?.shape;
    return s && s[0] === 1 ? withDims(vi, ['N', ...s.slice(1)]) : vi;
  };
  return {
    ...model,
    graph: {
      ...g,
      node: nodes,
      initializer,
      input: (g.input ?? []).map((i) => (i === input ? relax(i) : i)),
      output: (g.output ?? []).map(relax),
      valueInfo: [],
    },
  };
}

/**
 * The embedding a classifier export computes: the input of its final Gemm/MatMul (after any
 * Flatten), else the last global pooling output, else the last rank-4 tensor.
 */
export function defaultFeatureTensor(model: ModelProto): string {
  const nodes = model.graph?.node ?? [];
  const shapes = inferShapes(model);
  const inits = new Set((model.graph?.initializer ?? []).map((t) => t.name));
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i]!;
    if ((n.opType === 'Gemm' || n.opType === 'MatMul') && n.input?.[0] && !inits.has(n.input[0])) {
      return n.input[0];
    }
  }
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i]!;
    if (n.opType === 'GlobalAveragePool' || n.opType === 'GlobalMaxPool') return n.output![0]!;
  }
  for (let i = nodes.length - 1; i >= 0; i--) {
    const o = nodes[i]!.output?.[0];
    if (o && shapes.get(o)?.shape?.length === 4) return o;
  }
  throw new EdgetuneError(
    'bad_request',
    'the backbone has no Gemm/MatMul, pooling or 4-D tensor to take features from',
  );
}

/**
 * Makes `tensor` usable as an embedding: [N, C] as it is; [N, C, 1, 1] flattened; [N, C, H, W]
 * global-average-pooled then flattened. Returns the model with the nodes added (the old outputs
 * are kept) and the name of the vector tensor.
 */
export function vectorFeature(model: ModelProto, tensor: string): { model: ModelProto; tensor: string } {
  const shape = inferShapes(model).get(tensor)?.shape;
  if (!shape) throw new EdgetuneError('bad_request', `cannot determine the shape of tensor ${tensor}`);
  if (shape.length === 2) return { model, tensor };
  if (shape.length !== 4) {
    throw new EdgetuneError(
      'bad_request',
      `feature layer ${tensor} has shape [${shape.join(', ')}]; pick a [N, C], [N, C, 1, 1] or [N, C, H, W] tensor`,
    );
  }
  const g = model.graph!;
  const added: NodeProto[] = [];
  let from = tensor;
  if (shape[2] !== 1 || shape[3] !== 1) {
    added.push({
      opType: 'GlobalAveragePool',
      name: `${tensor}/edgetune_pool`,
      input: [from],
      output: [`${tensor}/pooled`],
    });
    from = `${tensor}/pooled`;
  }
  const out = `${tensor}/vector`;
  added.push({
    opType: 'Flatten',
    name: `${tensor}/edgetune_flatten`,
    input: [from],
    output: [out],
    attribute: [{ name: 'axis', type: 2, i: 1 }],
  });
  return { model: { ...model, graph: { ...g, node: [...(g.node ?? []), ...added] } }, tensor: out };
}
