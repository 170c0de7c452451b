/**
 * Graph surgery for transfer learning: cut a backbone at a feature tensor, expose extra outputs,
 * append a new head, swap in trained weights. Every function returns a new model and leaves its
 * argument untouched (node and tensor objects that did not change are shared).
 */
import { EdgetuneError } from '../errors.ts';
import { GraphBuilder, makeValueInfo } from './builder.ts';
import { dataTypeName, type GraphProto, type ModelProto, onnx, TensorDataType, toNumber } from './proto.ts';
import { inferShapes } from './shapes.ts';
import { makeTensor, type TensorData } from './tensor.ts';
import { assertValid, liveNodes, nodeUses } from './validate.ts';

function graphOf(model: ModelProto): GraphProto {
  if (!model.graph) throw new EdgetuneError('corrupt', 'model has no graph');
  return model.graph;
}

function withGraph(model: ModelProto, graph: GraphProto): onnx.ModelProto {
  return onnx.ModelProto.create({ ...model, graph: { ...model.graph, ...graph } });
}

/** Every tensor name the graph defines (inputs, initializers, node outputs). */
function definedTensors(g: GraphProto): Set<string> {
  const names = new Set<string>();
  for (const vi of g.input ?? []) if (vi.name) names.add(vi.name);
  for (const t of g.initializer ?? []) if (t.name) names.add(t.name);
  for (const n of g.node ?? []) for (const o of n.output ?? []) if (o) names.add(o);
  return names;
}

function requireTensor(g: GraphProto, name: string): void {
  if (!definedTensors(g).has(name))
    throw new EdgetuneError('not_found', `tensor ${name} is not in the graph`);
}

/** Keep only what computes `outputs` (nodes, initializers, value_info; inputs too if asked). */
function prune(g: GraphProto, outputs: Iterable<string>, dropInputs: boolean): GraphProto {
  const nodes = g.node ?? [];
  const live = liveNodes(g, outputs);
  const kept = nodes.filter((_, i) => live.has(i));
  const used = new Set<string>(outputs);
  for (const n of kept) {
    for (const u of nodeUses(n)) used.add(u);
    for (const o of n.output ?? []) used.add(o);
  }
  return {
    node: kept,
    initializer: (g.initializer ?? []).filter((t) => used.has(t.name ?? '')),
    input: dropInputs ? (g.input ?? []).filter((vi) => used.has(vi.name ?? '')) : (g.input ?? []),
    valueInfo: (g.valueInfo ?? []).filter((vi) => used.has(vi.name ?? '')),
  };
}

/** Output declarations for tensors, typed and shaped by static inference where possible. */
function outputInfos(model: ModelProto, names: readonly string[]) {
  const shapes = inferShapes(model);
  return names.map((name) => {
    const info = shapes.get(name);
    return makeValueInfo(name, info?.elemType || TensorDataType.FLOAT, info?.shape);
  });
}

/**
 * Keep only the nodes, initializers and inputs needed to compute `tensor` (or every tensor of a
 * list, so one run yields them all), and make those the only outputs (e.g. cut a classifier at
 * its pooled embedding).
 */
export function cutAt(model: ModelProto, tensor: string | readonly string[]): onnx.ModelProto {
  const g = graphOf(model);
  const tensors = typeof tensor === 'string' ? [tensor] : [...new Set(tensor)];
  for (const t of tensors) requireTensor(g, t);
  const pruned = prune(g, tensors, true);
  const cut = withGraph(model, { ...pruned, output: [] });
  return withGraph(cut, { output: outputInfos(cut, tensors) });
}

/** Declare existing tensors as additional graph outputs (already-declared ones are skipped). */
export function addOutputs(model: ModelProto, names: readonly string[]): onnx.ModelProto {
  const g = graphOf(model);
  const defined = definedTensors(g);
  for (const n of names)
    if (!defined.has(n)) throw new EdgetuneError('not_found', `tensor ${n} is not in the graph`);
  const existing = new Set((g.output ?? []).map((o) => o.name));
  const fresh = [...new Set(names)].filter((n) => !existing.has(n));
  return withGraph(model, { output: [...(g.output ?? []), ...outputInfos(model, fresh)] });
}

export interface AppendOptions {
  /** Keep the model's current outputs next to the new ones (default: replace them). */
  keepOutputs?: boolean;
}

/**
 * Append nodes that read `atTensor`. `build` gets a GraphBuilder holding the current graph (so
 * `g.unique()` avoids every existing name) and returns the names of the new outputs. Without
 * `keepOutputs`, nodes that only fed the old outputs are removed. The result is validated.
 */
export function appendSubgraph(
  model: ModelProto,
  atTensor: string,
  build: (g: GraphBuilder, input: string) => readonly string[],
  opts: AppendOptions = {},
): onnx.ModelProto {
  const g = graphOf(model);
  requireTensor(g, atTensor);
  const b = GraphBuilder.fromModel(model);
  if (!opts.keepOutputs) b.clearOutputs();
  const newOutputs = build(b, atTensor);
  if (newOutputs.length === 0)
    throw new EdgetuneError('bad_request', 'appended subgraph returned no outputs');
  const declared = b.outputNames();
  let out: onnx.ModelProto = b.build();
  const missing = newOutputs.filter((n) => !declared.includes(n));
  out = withGraph(out, { output: [...(out.graph?.output ?? []), ...outputInfos(out, missing)] });
  if (!opts.keepOutputs) {
    const og = graphOf(out);
    out = withGraph(
      out,
      prune(
        og,
        (og.output ?? []).map((o) => o.name ?? ''),
        false,
      ),
    );
  }
  assertValid(out);
  return out;
}

export interface InitializerReplacement {
  data: TensorData;
  dims: readonly number[];
}

/**
 * Swap initializer values (e.g. trained weights). The data type must stay the same, and the dims
 * too unless `allowShapeChange` (changing shapes usually breaks the consumers).
 */
export function replaceInitializers(
  model: ModelProto,
  replacements: Readonly<Record<string, InitializerReplacement>>,
  opts: { allowShapeChange?: boolean } = {},
): onnx.ModelProto {
  const g = graphOf(model);
  const todo = new Map(Object.entries(replacements));
  const initializer = (g.initializer ?? []).map((t) => {
    const r = t.name ? todo.get(t.name) : undefined;
    if (!r || !t.name) return t;
    todo.delete(t.name);
    const next = makeTensor(t.name, r.data, r.dims);
    if (next.dataType !== t.dataType) {
      throw new EdgetuneError(
        'bad_request',
        `initializer ${t.name} is ${dataTypeName(t.dataType ?? 0)}, replacement is ${dataTypeName(next.dataType ?? 0)}`,
      );
    }
    const oldDims = (t.dims ?? []).map(toNumber);
    if (!opts.allowShapeChange && oldDims.join(',') !== r.dims.join(',')) {
      throw new EdgetuneError(
        'bad_request',
        `initializer ${t.name} has dims [${oldDims.join(',')}], replacement has [${r.dims.join(',')}]`,
      );
    }
    return next;
  });
  const [unknown] = todo.keys();
  if (unknown !== undefined)
    throw new EdgetuneError('not_found', `initializer ${unknown} is not in the graph`);
  return withGraph(model, { initializer });
}

/** Rename a tensor everywhere in the main graph (inputs, outputs, initializers, nodes, value_info). */
export function renameTensor(model: ModelProto, from: string, to: string): onnx.ModelProto {
  const g = graphOf(model);
  const defined = definedTensors(g);
  if (!defined.has(from)) throw new EdgetuneError('not_found', `tensor ${from} is not in the graph`);
  if (from === to) return withGraph(model, {});
  if (defined.has(to)) throw new EdgetuneError('conflict', `tensor ${to} already exists`);
  const r = (n: string) => (n === from ? to : n);
  const renameVi = <T extends { name?: string | null }>(vi: T): T =>
    vi.name === from ? { ...vi, name: to } : vi;
  return withGraph(model, {
    node: (g.node ?? []).map((n) =>
      n.input?.includes(from) || n.output?.includes(from)
        ? { ...n, input: (n.input ?? []).map(r), output: (n.output ?? []).map(r) }
        : n,
    ),
    input: (g.input ?? []).map(renameVi),
    output: (g.output ?? []).map(renameVi),
    valueInfo: (g.valueInfo ?? []).map(renameVi),
    initializer: (g.initializer ?? []).map(renameVi),
  });
}
