/**
 * Graph-level simplification of what exporters (torch.onnx above all) leave in a graph and what
 * a runtime without general constant folding (the edge engine) cannot take as it is:
 *
 * - Constant nodes become initializers (weights, Clip bounds, shape literals);
 * - Identity nodes that alias an initializer (torch de-duplicates equal weights that way, so a
 *   conv's bias arrives through an Identity) are bypassed;
 * - shape arithmetic feeding a Reshape (Shape→Gather→Unsqueeze→Concat, Slice, Squeeze, Cast) is
 *   evaluated: a fully known target becomes a constant, and torch's `x.view(x.size(0), -1)` with a
 *   symbolic batch becomes Flatten(axis 1), which is what it computes.
 *
 * The result computes the same values; nodes left without a consumer are removed.
 */
import { attrFloat, attrFloats, attrInt, attrInts, attrTensor } from './attributes.ts';
import type { Dim } from './builder.ts';
import type { ModelProto, NodeProto, TensorProto } from './proto.ts';
import { inferShapes } from './shapes.ts';
import { makeTensor, readTensorInts } from './tensor.ts';
import { liveNodes } from './validate.ts';

function constantValue(node: NodeProto, name: string): TensorProto | undefined {
  const t = attrTensor(node, 'value');
  if (t) return { ...t, name };
  const vi = attrInts(node, 'value_ints');
  if (vi) return makeTensor(name, vi, [vi.length]);
  const v = attrInt(node, 'value_int');
  if (v !== undefined) return makeTensor(name, [v], []);
  const vf = attrFloats(node, 'value_floats');
  if (vf) return makeTensor(name, Float32Array.from(vf), [vf.length]);
  const f = attrFloat(node, 'value_float');
  if (f !== undefined) return makeTensor(name, Float32Array.of(f), []);
  return undefined;
}

const INT_TYPES = new Set([6, 7]); // INT32, INT64

/** 1-D integer values where a dim may be symbolic (a dim_param name or '?'). */
type Sym = Dim[];

class ShapeEvaluator {
  private readonly memo = new Map<string, Sym | null>();

  constructor(
    private readonly producers: Map<string, NodeProto>,
    private readonly inits: Map<string, TensorProto>,
    private readonly shapes: Map<string, { shape?: Dim[] }>,
  ) {}

  value(name: string | undefined): Sym | undefined {
    if (!name) return undefined;
    if (!this.memo.has(name)) this.memo.set(name, this.compute(name) ?? null);
    return this.memo.get(name) ?? undefined;
  }

  private compute(name: string): Sym | undefined {
    const init = this.inits.get(name);
    if (init) return INT_TYPES.has(init.dataType ?? 0) ? readTensorInts(init) : undefined;
    const node = this.producers.get(name);
    if (!node) return undefined;
    const ins = node.input ?? [];
    switch (node.opType) {
      case 'Shape': {
        const s = this.shapes.get(ins[0] ?? '')?.shape;
        if (!s) return undefined;
        const rank = s.length;
        const norm = (a: number) => (a < 0 ? a + rank : a);
        return s.slice(norm(attrInt(node, 'start', 0)), norm(attrInt(node, 'end', rank)));
      }
      case 'Gather': {
        const data = this.value(ins[0]);
        const idx = this.value(ins[1]);
        if (!data || !idx || idx.some((i) => typeof i !== 'number')) return undefined;
        return (idx as number[]).map((i) => data[i < 0 ? i + data.length : i]!);
      }
      case 'Unsqueeze':
      case 'Squeeze':
      case 'Cast':
      case 'Identity':
        return this.value(ins[0]);
      case 'Concat': {
        const parts = ins.map((i) => this.value(i));
        return parts.every((p) => p !== undefined) ? (parts as Sym[]).flat() : undefined;
      }
      case 'Slice': {
        const data = this.value(ins[0]);
        const [starts, ends, axes, steps] = [1, 2, 3, 4].map((i) => this.value(ins[i]));
        const ok = (v?: Sym) => v === undefined || v.every((d) => typeof d === 'number');
        if (!data || !starts || !ends || ![starts, ends, axes, steps].every(ok)) return undefined;
        if (axes && (axes as number[]).some((a) => a !== 0 && a !== -1)) return undefined;
        const step = (steps?.[0] as number | undefined) ?? 1;
        if (step !== 1) return undefined;
        const clamp = (v: number) => Math.max(0, Math.min(data.length, v < 0 ? v + data.length : v));
        return data.slice(clamp(starts[0] as number), clamp(ends[0] as number));
      }
      default:
        return undefined;
    }
  }
}

/**
 * Whether the graph has anything foldConstants would change: a Constant node, an Identity of an
 * initializer, or a Reshape whose target shape is computed. Most graphs (every edgetune export,
 * and a graph that was folded before) have none, and the answer takes one pass over the nodes
 * instead of shape inference over the whole graph — which matters in a cold Worker isolate.
 */
export function needsConstantFolding(model: ModelProto): boolean {
  const g = model.graph;
  if (!g) return false;
  const inits = new Set((g.initializer ?? []).map((t) => t.name ?? ''));
  return (g.node ?? []).some(
    (n) =>
      n.opType === 'Constant' ||
      (n.opType === 'Identity' && inits.has(n.input?.[0] ?? '')) ||
      (n.opType === 'Reshape' && !inits.has(n.input?.[1] ?? '')),
  );
}

export function foldConstants(model: ModelProto): ModelProto {
  const g = model.graph;
  if (!g || !needsConstantFolding(model)) return model;
  const initializers: TensorProto[] = [...(g.initializer ?? [])];
  const inits = new Map(initializers.map((t) => [t.name ?? '', t]));
  const outputs = new Set((g.output ?? []).map((o) => o.name ?? ''));
  const alias = new Map<string, string>();
  const resolve = (n: string) => alias.get(n) ?? n;

  let nodes: NodeProto[] = [];
  for (const node of g.node ?? []) {
    const out = node.output?.[0] ?? '';
    const input = (node.input ?? []).map(resolve);
    if (node.opType === 'Constant' && !outputs.has(out)) {
      const t = constantValue(node, out);
      if (t) {
        initializers.push(t);
        inits.set(out, t);
        continue;
      }
    }
    if (node.opType === 'Identity' && inits.has(input[0] ?? '') && !outputs.has(out)) {
      alias.set(out, input[0]!);
      continue;
    }
    nodes.push({ ...node, input });
  }

  const folded: ModelProto = { ...model, graph: { ...g, node: nodes, initializer: initializers } };
  const shapes = inferShapes(folded);
  const producers = new Map<string, NodeProto>();
  for (const n of nodes) for (const o of n.output ?? []) producers.set(o, n);
  const evaluator = new ShapeEvaluator(producers, inits, shapes);
  nodes = nodes.map((node) => {
    const target = node.input?.[1];
    if (node.opType !== 'Reshape' || !target || inits.has(target)) return node;
    const value = evaluator.value(target);
    if (!value) return node;
    if (value.every((d): d is number => typeof d === 'number')) {
      const name = `${target}__folded`;
      if (!inits.has(name)) {
        const t = makeTensor(name, value, [value.length]);
        initializers.push(t);
        inits.set(name, t);
      }
      return { ...node, input: [node.input![0]!, name] };
    }
    // [batch, -1] or [batch, C·H·W] where batch is the data's own symbolic first dim.
    const xs = shapes.get(node.input?.[0] ?? '')?.shape;
    const rest = xs?.slice(1);
    const total = rest?.every((d) => typeof d === 'number')
      ? (rest as number[]).reduce((a, b) => a * b, 1)
      : -2;
    if (value.length === 2 && xs && value[0] === xs[0] && (value[1] === -1 || value[1] === total)) {
      return {
        name: node.name,
        opType: 'Flatten',
        domain: node.domain,
        input: [node.input![0]!],
        output: node.output,
        attribute: [{ name: 'axis', type: 2, i: 1 }],
      };
    }
    return node;
  });

  // Drop what no longer feeds an output (the shape arithmetic, unused constants).
  const graph = { ...g, node: nodes, initializer: initializers };
  const live = liveNodes(graph, outputs);
  const kept = nodes.filter((_, i) => live.has(i));
  const used = new Set<string>([...outputs]);
  for (const n of kept) for (const i of n.input ?? []) used.add(i);
  const graphInputs = new Set((g.input ?? []).map((i) => i.name));
  return {
    ...model,
    graph: {
      ...g,
      node: kept,
      initializer: initializers.filter((t) => used.has(t.name ?? '') || graphInputs.has(t.name)),
      valueInfo: (g.valueInfo ?? []).filter((v) => !alias.has(v.name ?? '')),
    },
  };
}
