/**
 * Structural checks on a graph: every input defined before use, each tensor defined once,
 * every output computed, no node that does not contribute to an output, opsets declared.
 */
import { EdgetuneError } from '../errors.ts';
import type { GraphProto, ModelProto, NodeProto } from './proto.ts';

export type ProblemCode =
  | 'no_graph'
  | 'undefined_input'
  | 'not_topological'
  | 'duplicate_definition'
  | 'duplicate_output'
  | 'undefined_output'
  | 'dangling_node'
  | 'missing_opset';

export interface ValidationProblem {
  code: ProblemCode;
  message: string;
  node?: string;
  tensor?: string;
}

/**
 * Tensors a node reads: its inputs plus, for control-flow ops (If/Loop/Scan), the outer-scope
 * names their subgraphs read (an over-approximation, which is what liveness needs).
 */
export function nodeUses(node: NodeProto): string[] {
  const uses = (node.input ?? []).filter((i) => i !== '');
  for (const a of node.attribute ?? []) {
    for (const sub of [a.g, ...(a.graphs ?? [])]) {
      for (const n of sub?.node ?? []) uses.push(...nodeUses(n));
      for (const o of sub?.output ?? []) if (o.name) uses.push(o.name);
    }
  }
  return uses;
}

/** Indices of the nodes needed to compute `targets` (does not rely on node order). */
export function liveNodes(graph: GraphProto, targets: Iterable<string>): Set<number> {
  const nodes = graph.node ?? [];
  const producers = new Map<string, number[]>();
  nodes.forEach((node, i) => {
    for (const o of node.output ?? []) if (o) producers.set(o, [...(producers.get(o) ?? []), i]);
  });
  const live = new Set<number>();
  const seen = new Set<string>();
  const work = [...targets];
  for (let name = work.pop(); name !== undefined; name = work.pop()) {
    if (seen.has(name)) continue;
    seen.add(name);
    for (const i of producers.get(name) ?? []) {
      if (live.has(i)) continue;
      live.add(i);
      work.push(...nodeUses(nodes[i]!));
    }
  }
  return live;
}

function label(node: NodeProto, i: number): string {
  return node.name || `#${i} ${node.opType}`;
}

export function validateModel(model: ModelProto): ValidationProblem[] {
  const g = model.graph;
  if (!g) return [{ code: 'no_graph', message: 'model has no graph' }];
  const problems: ValidationProblem[] = [];
  const nodes = g.node ?? [];

  const defined = new Set<string>();
  const initNames = new Set<string>();
  for (const t of g.initializer ?? []) {
    const name = t.name ?? '';
    if (initNames.has(name)) {
      problems.push({
        code: 'duplicate_definition',
        message: `initializer ${name} is defined twice`,
        tensor: name,
      });
    }
    initNames.add(name);
    defined.add(name);
  }
  const inputNames = new Set<string>();
  for (const vi of g.input ?? []) {
    const name = vi.name ?? '';
    // Before IR 4 initializers are also listed as inputs; that repetition is allowed.
    if (inputNames.has(name)) {
      problems.push({
        code: 'duplicate_definition',
        message: `graph input ${name} is declared twice`,
        tensor: name,
      });
    }
    inputNames.add(name);
    defined.add(name);
  }

  const producedAt = new Map<string, number>();
  nodes.forEach((node, i) => {
    for (const o of node.output ?? []) {
      if (!o) continue;
      if (producedAt.has(o) || defined.has(o)) {
        problems.push({
          code: 'duplicate_definition',
          message: `tensor ${o} is defined more than once (again by node ${label(node, i)})`,
          node: label(node, i),
          tensor: o,
        });
      } else producedAt.set(o, i);
    }
  });

  const available = new Set(defined);
  nodes.forEach((node, i) => {
    for (const input of node.input ?? []) {
      if (input === '' || available.has(input)) continue;
      const at = producedAt.get(input);
      if (at !== undefined && at >= i) {
        problems.push({
          code: 'not_topological',
          message: `node ${label(node, i)} reads ${input} before node ${label(nodes[at]!, at)} computes it`,
          node: label(node, i),
          tensor: input,
        });
      } else {
        problems.push({
          code: 'undefined_input',
          message: `node ${label(node, i)} reads ${input}, which nothing defines`,
          node: label(node, i),
          tensor: input,
        });
      }
    }
    for (const o of node.output ?? []) if (o) available.add(o);
  });

  const outputNames = new Set<string>();
  for (const vi of g.output ?? []) {
    const name = vi.name ?? '';
    if (outputNames.has(name)) {
      problems.push({
        code: 'duplicate_output',
        message: `graph output ${name} is declared twice`,
        tensor: name,
      });
    }
    outputNames.add(name);
    if (!available.has(name)) {
      problems.push({
        code: 'undefined_output',
        message: `graph output ${name} is not computed`,
        tensor: name,
      });
    }
  }
  if (outputNames.size === 0) problems.push({ code: 'undefined_output', message: 'graph has no outputs' });

  const live = liveNodes(g, outputNames);
  nodes.forEach((node, i) => {
    if (!live.has(i)) {
      problems.push({
        code: 'dangling_node',
        message: `node ${label(node, i)} does not contribute to any graph output`,
        node: label(node, i),
      });
    }
  });

  const domains = new Set(
    (model.opsetImport ?? []).map((o) => (o.domain === 'ai.onnx' ? '' : (o.domain ?? ''))),
  );
  const reported = new Set<string>();
  for (const node of nodes) {
    const d = node.domain === 'ai.onnx' ? '' : (node.domain ?? '');
    if (!domains.has(d) && !reported.has(d)) {
      reported.add(d);
      problems.push({ code: 'missing_opset', message: `no opset imported for domain '${d || 'ai.onnx'}'` });
    }
  }
  return problems;
}

/** Throw EdgetuneError('corrupt') listing the first problems, if there are any. */
export function assertValid(model: ModelProto): void {
  const problems = validateModel(model);
  if (problems.length === 0) return;
  const shown = problems
    .slice(0, 3)
    .map((p) => p.message)
    .join('; ');
  const more = problems.length > 3 ? ` (+${problems.length - 3} more)` : '';
  throw new EdgetuneError('corrupt', `invalid ONNX graph: ${shown}${more}`);
}
