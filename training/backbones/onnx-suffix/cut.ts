/**
 * Where `--trainable N` cuts a plain ONNX backbone: the latest tensor with at least N Conv nodes
 * between it and the feature tensor that is a single-tensor articulation point of the graph —
 * every later node reads only it, constants and tensors computed after it (no skip connection
 * crosses it). In torchvision's CNNs those are the outputs of residual / inverted-residual
 * blocks. The nodes after the cut are what the training job converts to tfjs; each must be one
 * of SUFFIX_OPS, checked here so an unsupported node is refused before any work starts.
 */
import { EdgetuneError } from '../../../shared/errors.ts';
import type { GraphProto, NodeProto } from '../../../shared/onnx/proto.ts';
import { SUFFIX_OPS } from './ops.ts';

export interface OnnxCut {
  /** Tensor where the frozen prefix ends. */
  boundary: string;
  /** The nodes that compute the feature tensor from the boundary, in graph order. */
  nodes: NodeProto[];
  /** Conv nodes among them. */
  convs: number;
}

/** The nodes the feature tensor depends on, in graph (topological) order. */
function ancestors(g: GraphProto, feature: string): NodeProto[] {
  const producer = new Map<string, NodeProto>();
  for (const n of g.node ?? []) for (const o of n.output ?? []) if (o) producer.set(o, n);
  if (!producer.has(feature)) {
    throw new EdgetuneError(
      'not_found',
      `feature tensor ${feature} is not computed by any node of the backbone`,
    );
  }
  const needed = new Set<NodeProto>();
  const stack = [feature];
  while (stack.length > 0) {
    const n = producer.get(stack.pop()!);
    if (!n || needed.has(n)) continue;
    needed.add(n);
    for (const i of n.input ?? []) if (i) stack.push(i);
  }
  return (g.node ?? []).filter((n) => needed.has(n));
}

/**
 * The cut for `trainable` (a Conv count, or the name of the boundary tensor), and the nodes after
 * it. Throws a one-line message when there is no such cut or a node after it cannot be converted.
 */
export function planOnnxCut(g: GraphProto, feature: string, trainable: number | string): OnnxCut {
  const order = ancestors(g, feature);
  const f = order.length - 1;
  const index = new Map<string, number>();
  order.forEach((n, i) => {
    for (const o of n.output ?? []) if (o) index.set(o, i);
  });
  // Node i's output is a cut when nothing produced before node i (graph inputs included) is read
  // after node i: `crossing` is the latest reader of anything produced so far.
  const lastUse = new Map<string, number>();
  order.forEach((n, j) => {
    for (const t of n.input ?? []) if (t) lastUse.set(t, Math.max(lastUse.get(t) ?? -1, j));
  });
  const isConst = new Set((g.initializer ?? []).map((t) => t.name ?? ''));
  const graphInputs = (g.input ?? []).map((v) => v.name ?? '').filter((n) => !isConst.has(n));
  let crossing = Math.max(-1, ...graphInputs.map((t) => lastUse.get(t) ?? -1));
  const validCut: boolean[] = [];
  order.forEach((n, i) => {
    const outs = (n.output ?? []).filter(Boolean);
    // Before updating: does anything from nodes < i (or the input) reach past node i?
    validCut[i] = outs.length === 1 && crossing <= i && i < f && n.opType !== 'Constant';
    for (const o of outs) crossing = Math.max(crossing, lastUse.get(o) ?? -1);
  });
  const convsAfter = (i: number) => order.slice(i + 1).filter((n) => n.opType === 'Conv').length;
  let cut = -1;
  if (typeof trainable === 'number' || /^\d+$/.test(trainable)) {
    const want = Number(trainable);
    for (let i = f - 1; i >= 0; i--) {
      if (validCut[i] && convsAfter(i) >= want) {
        cut = i;
        break;
      }
    }
    if (cut < 0) {
      throw new EdgetuneError(
        'bad_request',
        `--trainable ${want}: the backbone has no cut point with ${want} conv layers after it before ${feature} ` +
          `(it has ${convsAfter(-1)} conv layers in all)`,
      );
    }
  } else {
    cut = index.get(trainable) ?? -1;
    if (cut < 0 || !validCut[cut]) {
      throw new EdgetuneError(
        'bad_request',
        `--trainable ${trainable}: not a valid freeze boundary (it must be a tensor before the feature layer ` +
          'that no skip connection crosses)',
      );
    }
  }
  const nodes = order.slice(cut + 1);
  for (const n of nodes) {
    if (!SUFFIX_OPS.has(n.opType ?? '')) {
      throw new EdgetuneError(
        'unsupported',
        `--trainable: node '${n.name || n.output?.[0]}' (${n.opType}) after the freeze boundary cannot be re-trained ` +
          `(supported: ${[...SUFFIX_OPS].sort().join(', ')}); use a smaller --trainable or --trainable 0`,
      );
    }
  }
  return { boundary: order[cut]!.output![0]!, nodes, convs: convsAfter(cut) };
}
