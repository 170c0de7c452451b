/**
 * A manifest checked against the ONNX graph it describes: the contract the edge relies on. Used
 * by every publish (so a hand-written manifest cannot name a tensor that does not exist and then
 * fail every request) and by `import-model` before anything is written.
 */
import { EdgetuneError } from '../errors.ts';
import type { ModelProto } from '../onnx/proto.ts';
import { inferShapes, shapeFromValueInfo } from '../onnx/shapes.ts';
import type { ModelManifest } from './manifest.ts';

type Contract = Pick<ModelManifest, 'input' | 'outputs' | 'labels' | 'preprocess'>;

/** Problems, one sentence each; empty when the manifest matches the graph. */
export function manifestGraphProblems(m: Contract, model: ModelProto): string[] {
  const g = model.graph ?? {};
  const problems: string[] = [];
  const inits = new Set((g.initializer ?? []).map((t) => t.name));
  const inputs = (g.input ?? []).filter((i) => !inits.has(i.name));
  const input = inputs.find((i) => i.name === m.input.name);
  if (!input) {
    problems.push(
      `input ${m.input.name} is not a graph input (the graph has ${inputs.map((i) => i.name).join(', ')})`,
    );
  } else {
    const dims = shapeFromValueInfo(input)?.shape ?? [];
    const p = m.preprocess;
    const perImage = p.layout === 'NCHW' ? [p.channels, p.height, p.width] : [p.height, p.width, p.channels];
    const graphImage = dims.slice(1);
    if (dims.length !== 4 || graphImage.some((d, i) => typeof d === 'number' && d !== perImage[i])) {
      problems.push(
        `input ${m.input.name} is [${dims.join(', ')}] but the preprocessing makes ${p.layout} [N, ${perImage.join(', ')}]`,
      );
    }
    const declared = m.input.shape.slice(1);
    if (
      declared.some(
        (d, i) => typeof d === 'number' && typeof graphImage[i] === 'number' && d !== graphImage[i],
      )
    ) {
      problems.push(
        `manifest input shape [${m.input.shape.join(', ')}] differs from the graph's [${dims.join(', ')}]`,
      );
    }
    // A graph fixed at batch B must advertise it: the edge then runs larger requests B at a time.
    if (typeof dims[0] === 'number' && m.input.shape[0] !== dims[0]) {
      problems.push(
        `the graph's batch is fixed at ${dims[0]}; the manifest input shape must say ${dims[0]}, not ${m.input.shape[0]}`,
      );
    }
  }
  const outputs = new Set((g.output ?? []).map((o) => o.name));
  const shapes = inferShapes(model);
  const check = (role: string, name: string, size: number) => {
    if (!outputs.has(name)) {
      problems.push(`${role} output ${name} is not a graph output (outputs: ${[...outputs].join(', ')})`);
      return;
    }
    const shape = shapes.get(name)?.shape;
    const last = shape?.[shape.length - 1];
    if (shape?.length !== 2 || (typeof last === 'number' && last !== size)) {
      problems.push(`${role} output ${name} is [${shape?.join(', ') ?? '?'}]; [N, ${size}] expected`);
    }
  };
  check('probabilities', m.outputs.probabilities, m.labels.length);
  check('embedding', m.outputs.embedding, m.outputs.embeddingDim);
  return problems;
}

export function assertManifestMatchesGraph(m: Contract, model: ModelProto, what: string): void {
  const problems = manifestGraphProblems(m, model);
  if (problems.length > 0) {
    const more = problems.length > 1 ? ` (+${problems.length - 1} more)` : '';
    throw new EdgetuneError('bad_request', `${what}: ${problems[0]}${more}`);
  }
}
