/**
 * Folds a zero-valued constant Pad that only pads H and W into the Conv(s) that consume it
 * (Keras' ZeroPadding2D before a stride-2 conv becomes the conv's own asymmetric pads). The result
 * computes exactly the same values with one op fewer, and runtimes that have no Pad (the edge
 * engine) can run it. Pads that feed anything other than a Conv are left alone.
 */
import { attrFloat, attrString } from './attributes.ts';
import { AttributeType, type ModelProto, type NodeProto, onnx, toNumber } from './proto.ts';
import { readTensorFloat32, readTensorInts } from './tensor.ts';

function spatialPads(node: NodeProto, model: ModelProto): number[] | null {
  if ((attrString(node, 'mode') ?? 'constant') !== 'constant') return null;
  const inits = new Map((model.graph?.initializer ?? []).map((t) => [t.name ?? '', t]));
  const padsInit = inits.get(node.input?.[1] ?? '');
  if (!padsInit) return null;
  const pads = readTensorInts(padsInit);
  if (pads.length !== 8) return null;
  const valueName = node.input?.[2];
  if (valueName) {
    const v = inits.get(valueName);
    if (!v || readTensorFloat32(v).some((x) => x !== 0)) return null;
  }
  if ((attrFloat(node, 'value') ?? 0) !== 0) return null;
  if (node.input?.[3]) return null; // explicit axes: keep it simple
  const [n0, c0, t, l, n1, c1, b, r] = pads as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (n0 || c0 || n1 || c1 || [t, l, b, r].some((p) => p < 0)) return null;
  return [t, l, b, r];
}

export function foldPadsIntoConvs(model: ModelProto): ModelProto {
  const graph = model.graph;
  if (!graph?.node?.some((n) => n.opType === 'Pad')) return model;
  const outputs = new Set((graph.output ?? []).map((o) => o.name));
  const consumers = new Map<string, NodeProto[]>();
  for (const node of graph.node) {
    for (const i of node.input ?? []) consumers.set(i, [...(consumers.get(i) ?? []), node]);
  }
  const replaced = new Map<NodeProto, NodeProto>();
  const dropped = new Set<NodeProto>();
  for (const pad of graph.node) {
    if (pad.opType !== 'Pad' || (pad.domain && pad.domain !== 'ai.onnx')) continue;
    const out = pad.output?.[0] ?? '';
    const users = consumers.get(out) ?? [];
    const extra = spatialPads(pad, model);
    if (!extra || outputs.has(out) || users.length === 0) continue;
    const foldable = users.every(
      (u) =>
        u.opType === 'Conv' &&
        u.input?.[0] === out &&
        (attrString(u, 'auto_pad') ?? 'NOTSET') === 'NOTSET' &&
        !replaced.has(u),
    );
    if (!foldable) continue;
    for (const conv of users) {
      const current = conv.attribute?.find((a) => a.name === 'pads');
      const base = current?.ints?.map((v) => toNumber(v)) ?? [0, 0, 0, 0];
      const [t, l, b, r] = extra as [number, number, number, number];
      const pads = [base[0]! + t, base[1]! + l, base[2]! + b, base[3]! + r];
      const attribute = (conv.attribute ?? []).filter((a) => a.name !== 'pads');
      attribute.push(onnx.AttributeProto.create({ name: 'pads', type: AttributeType.INTS, ints: pads }));
      replaced.set(
        conv,
        onnx.NodeProto.create({
          ...conv,
          input: [pad.input![0]!, ...(conv.input ?? []).slice(1)],
          attribute,
        }),
      );
    }
    dropped.add(pad);
  }
  if (dropped.size === 0) return model;
  const node = graph.node.filter((n) => !dropped.has(n)).map((n) => replaced.get(n) ?? n);
  // Initializers used only by the removed Pads (their pads tensors) go too.
  const used = new Set(node.flatMap((n) => n.input ?? []));
  const initializer = (graph.initializer ?? []).filter((t) => used.has(t.name ?? ''));
  return onnx.ModelProto.create({ ...model, graph: onnx.GraphProto.create({ ...graph, node, initializer }) });
}
