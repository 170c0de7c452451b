/**
 * A prototype head as ONNX, appended to the parent version's graph at its embedding, so the new
 * version is one ordinary ONNX file with the same input, the same embedding output and new
 * probabilities. Ops: [Relu → Sqrt] → [Sub (the centre)] → LpNormalization → MatMul (class means
 * / temperature) → Softmax, which onnxruntime and the edgetune engine both run.
 */
import type { ModelProto } from '../onnx/proto.ts';
import { GraphBuilder, int } from '../onnx/builder.ts';
import { appendSubgraph } from '../onnx/surgery.ts';
import type { PrototypeHead } from './head.ts';

export interface PrototypeGraph {
  model: ModelProto;
  /** Name of the new probabilities output (the embedding output keeps its name). */
  probabilities: string;
}

export function appendPrototypeHead(
  parent: ModelProto,
  embedding: string,
  head: PrototypeHead,
): PrototypeGraph {
  const classes = head.labels.length;
  // [dim, classes], the temperature folded in: logits = unit(e) · P^T / t.
  const weights = new Float32Array(head.dim * classes);
  for (let c = 0; c < classes; c++)
    for (let d = 0; d < head.dim; d++)
      weights[d * classes + c] = head.prototypes[c * head.dim + d]! / head.temperature;
  let probabilities = '';
  const model = appendSubgraph(parent, embedding, (g, input) => {
    let x = input;
    if (head.power) {
      const relu = g.unique('prototype_relu');
      g.node('Relu', [x], [relu]);
      x = g.unique('prototype_sqrt');
      g.node('Sqrt', [relu], [x]);
    }
    if (head.centre) {
      const centre = g.initializer(g.unique('prototype_centre'), head.centre, [head.dim]);
      const centred = g.unique('prototype_centred');
      g.node('Sub', [x, centre], [centred]);
      x = centred;
    }
    const normed = g.unique('prototype_unit_embedding');
    g.node('LpNormalization', [x], [normed], { axis: int(-1), p: int(2) });
    const w = g.initializer(g.unique('prototype_weights'), weights, [head.dim, classes]);
    const logits = g.unique('prototype_logits');
    g.node('MatMul', [normed, w], [logits]);
    probabilities = g.unique('prototype_probabilities');
    g.node('Softmax', [logits], [probabilities], { axis: int(-1) });
    g.output(embedding);
    g.output(probabilities);
    return [embedding, probabilities];
  });
  return { model, probabilities };
}

/**
 * The head alone, on an [N, dim] embedding input: what the edge runs on its engine to check the
 * head's ops against the reference before publishing (the prefix is the parent's graph, already
 * served there), without a second copy of the backbone in the isolate's memory.
 */
export function prototypeHeadGraph(head: PrototypeHead): ModelProto {
  const g = new GraphBuilder({ name: 'prototype-head' });
  g.input('embedding', ['N', head.dim]);
  const out = appendPrototypeHead(g.build(), 'embedding', head);
  return out.model;
}
