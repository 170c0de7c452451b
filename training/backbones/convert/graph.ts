/**
 * Walking a tfjs LayersModel's graph: the nodes that produce the model outputs, in topological
 * order, and who consumes each tensor (needed to know when a conv may absorb its BatchNorm).
 */
import type * as tf from '@tensorflow/tfjs';

/** One call of a layer (a tfjs `Node`); a shared layer has several. */
export type TfNode = tf.layers.Layer['inboundNodes'][number];
export type Shape = (number | null)[];

export interface ModelGraph {
  /** Every node reachable from the outputs, inputs first, each after the nodes it reads. */
  order: TfNode[];
  /** SymbolicTensor id → the nodes that read it. */
  consumers: Map<number, TfNode[]>;
}

/** tfjs (like Keras) gives an InputLayer's node its own output as input: it reads nothing. */
export function nodeInputs(node: TfNode): tf.SymbolicTensor[] {
  return node.outboundLayer.getClassName() === 'InputLayer' ? [] : node.inputTensors;
}

function producer(t: tf.SymbolicTensor): TfNode {
  const node = t.sourceLayer.inboundNodes[t.nodeIndex];
  if (node === undefined) throw new Error(`internal: no node produces tensor ${t.name}`);
  return node;
}

export function walkModel(model: tf.LayersModel): ModelGraph {
  const order: TfNode[] = [];
  const seen = new Set<TfNode>();
  const consumers = new Map<number, TfNode[]>();
  // Iterative post-order DFS: InceptionV3 is ~300 nodes deep along some paths.
  const stack: { node: TfNode; expanded: boolean }[] = model.outputs.map((t) => ({
    node: producer(t),
    expanded: false,
  }));
  stack.reverse();
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    if (seen.has(top.node)) {
      stack.pop();
      continue;
    }
    if (!top.expanded) {
      top.expanded = true;
      const inputs = [...nodeInputs(top.node)].reverse();
      for (const t of inputs) {
        const p = producer(t);
        if (!seen.has(p)) stack.push({ node: p, expanded: false });
      }
      continue;
    }
    stack.pop();
    seen.add(top.node);
    order.push(top.node);
    for (const t of nodeInputs(top.node)) {
      const list = consumers.get(t.id) ?? [];
      list.push(top.node);
      consumers.set(t.id, list);
    }
  }
  return { order, consumers };
}

/** Output shapes of a node as a list (tfjs stores a single shape unwrapped). */
export function nodeOutputShapes(node: TfNode): Shape[] {
  return node.outputTensors.map((t) => t.shape.slice() as Shape);
}
