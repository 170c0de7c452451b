/**
 * Folds a zero-valued constant Pad that only pads H and W into the Conv(s) that consume it
 * (Keras' ZeroPadding2D before a stride-2 conv becomes the conv's own asymmetric pads). The result
 * computes exactly the same values with one op fewer, and runtimes that have no Pad (the edge
 * engine) can run it — also through the Clip/QuantizeLinear/DequantizeLinear a QDQ graph puts
 * between them. Pads that feed anything other than a Conv are left alone.
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

/**
 * Pad → [Clip] → QuantizeLinear → DequantizeLinear → Conv(s), as a QDQ graph quantizes a padded
 * conv input: with a Clip whose range holds 0 and the same scale and zero point on both sides,
 * the pair maps 0 to exactly 0 (code = zero point), so padding after it computes the same as
 * padding before it. Returns the chain's first node and the tensor the convs read.
 */
function qdqChain(
  out: string,
  consumers: Map<string, NodeProto[]>,
  outputs: Set<string | null | undefined>,
  model: ModelProto,
): { first: NodeProto; convInput: string } | null {
  let name = out;
  const next = (op: string): NodeProto | null => {
    const users = consumers.get(name) ?? [];
    const n = users.length === 1 && !outputs.has(name) ? users[0]! : undefined;
    if (!n || n.opType !== op || (n.domain && n.domain !== 'ai.onnx') || n.input?.[0] !== name) return null;
    name = n.output?.[0] ?? '';
    return n;
  };
  const users = consumers.get(name) ?? [];
  const clip = users.length === 1 && users[0]!.opType === 'Clip' ? next('Clip') : null;
  if (clip) {
    const inits = new Map((model.graph?.initializer ?? []).map((t) => [t.name ?? '', t]));
    const bound = (i: number, fallback: number) => {
      const t = inits.get(clip.input?.[i] ?? '');
      if (clip.input?.[i] && !t) return Number.NaN;
      return t ? readTensorFloat32(t)[0]! : fallback;
    };
    if (!(bound(1, -Infinity) <= 0 && bound(2, Infinity) >= 0)) return null;
  }
  const q = next('QuantizeLinear');
  const dq = q ? next('DequantizeLinear') : null;
  if (!q || !dq) return null;
  const same = [1, 2].every((i) => (q.input?.[i] ?? '') === (dq.input?.[i] ?? ''));
  return same ? { first: clip ?? q, convInput: name } : null;
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
    const extra = spatialPads(pad, model);
    if (!extra || outputs.has(out)) continue;
    const direct = (consumers.get(out) ?? []).every((u) => u.opType === 'Conv');
    const chain = direct ? null : qdqChain(out, consumers, outputs, model);
    const convInput = chain ? chain.convInput : out;
    const users = consumers.get(convInput) ?? [];
    if (users.length === 0 || (!direct && !chain) || (chain && replaced.has(chain.first))) continue;
    const foldable = users.every(
      (u) =>
        u.opType === 'Conv' &&
        u.input?.[0] === convInput &&
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
          input: [chain ? convInput : pad.input![0]!, ...(conv.input ?? []).slice(1)],
          attribute,
        }),
      );
    }
    if (chain) {
      const first = chain.first;
      replaced.set(
        first,
        onnx.NodeProto.create({ ...first, input: [pad.input![0]!, ...(first.input ?? []).slice(1)] }),
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
