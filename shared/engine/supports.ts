/**
 * Static check of whether the engine can run a model: op types and the attributes it can decide
 * without shapes. Shape-dependent limits surface when the session is created (EdgetuneError
 * 'unsupported'), so a caller should still fall back to onnxruntime-web if creation throws.
 */
import { attrInt, attrInts } from '../onnx/attributes.ts';
import { foldConstants } from '../onnx/fold-constants.ts';
import { foldPadsIntoConvs } from '../onnx/fold-pad.ts';
import type { ModelProto, NodeProto } from '../onnx/proto.ts';
import { ModelConstants } from './constants.ts';

export interface SupportReport {
  ok: boolean;
  /** One entry per offending node: "OpType name: reason". */
  unsupported: string[];
  /** The same problems, structured: what `describeUnsupported` groups. */
  problems: { what: string; name: string; reason: string }[];
}

/**
 * The report in one readable line: each distinct problem once with the number of nodes that have
 * it and a few of their names (a torch export can list the same problem for dozens of nodes).
 */
export function describeUnsupported(report: SupportReport, examples = 3): string {
  const groups = new Map<string, string[]>();
  for (const p of report.problems) {
    const key = `${p.what}: ${p.reason}`;
    groups.set(key, [...(groups.get(key) ?? []), p.name]);
  }
  return [...groups]
    .map(([key, names]) => {
      const named = names.filter(Boolean);
      const sample = named.slice(0, examples).join(', ');
      const more = named.length > examples ? `, +${named.length - examples} more` : '';
      return `${key} (${names.length} node${names.length === 1 ? '' : 's'}${sample ? `: ${sample}${more}` : ''})`;
    })
    .join('; ');
}

export const ENGINE_OPS = new Set([
  'Conv',
  'BatchNormalization',
  'Relu',
  'Clip',
  'HardSwish',
  'HardSigmoid',
  'Sigmoid',
  'Add',
  'Mul',
  'Sub',
  'Div',
  'GlobalAveragePool',
  'AveragePool',
  'MaxPool',
  'Flatten',
  'Reshape',
  'Transpose',
  'Gemm',
  'MatMul',
  'Softmax',
  'LpNormalization',
  'Concat',
  'Identity',
  'Dropout',
  'Constant',
]);

function problem(node: NodeProto, consts: ModelConstants, graphInputs: Set<string>): string | undefined {
  const op = node.opType ?? '';
  if (node.domain && node.domain !== 'ai.onnx') return `domain ${node.domain}`;
  if (!ENGINE_OPS.has(op)) return 'op not supported';
  const input = (i: number) => node.input?.[i];
  switch (op) {
    case 'Conv':
      if (!consts.isFloat(input(1))) return 'weights must be a constant';
      if (input(2) && !consts.isFloat(input(2))) return 'bias must be a constant';
      if ((attrInts(node, 'kernel_shape') ?? [0, 0]).length !== 2 && attrInts(node, 'kernel_shape'))
        return 'only 2-D';
      return undefined;
    case 'Gemm':
      if (attrInt(node, 'transA', 0) !== 0) return 'transA';
      if (!consts.isFloat(input(1))) return 'B must be a constant';
      if (input(2) && !consts.isFloat(input(2))) return 'C must be a constant';
      return undefined;
    case 'MatMul':
      return consts.isFloat(input(1)) ? undefined : 'B must be a constant';
    case 'BatchNormalization':
      return [1, 2, 3, 4].every((i) => consts.isFloat(input(i))) ? undefined : 'parameters must be constants';
    case 'Clip':
      return [1, 2].every((i) => !input(i) || consts.isFloat(input(i)))
        ? undefined
        : 'bounds must be constants';
    case 'Transpose': {
      const perm = (attrInts(node, 'perm') ?? []).join(',');
      // [0,2,3,1] before a Flatten (Keras order), [0,3,1,2] straight after an NHWC graph input.
      if (perm === '0,2,3,1' || (perm === '0,3,1,2' && graphInputs.has(input(0) ?? ''))) return undefined;
      return 'only perm [0,2,3,1], or [0,3,1,2] on an NHWC graph input';
    }
    case 'Flatten':
      return attrInt(node, 'axis', 1) === 1 ? undefined : 'only axis 1';
    case 'Reshape':
      return consts.has(input(1)) ? undefined : 'shape must be a constant';
    case 'MaxPool':
    case 'AveragePool':
      if ((attrInts(node, 'dilations') ?? []).some((d) => d !== 1)) return 'dilations';
      if (op === 'AveragePool' && attrInt(node, 'ceil_mode', 0) === 1) return 'ceil_mode';
      if (op === 'MaxPool' && node.output?.[1]) return 'Indices output';
      return undefined;
    case 'Div':
      // x / constant is a scale; a tensor divisor has no kernel.
      return consts.isFloat(input(1)) ? undefined : 'the divisor must be a constant';
    case 'Softmax':
      return [-1, 1].includes(attrInt(node, 'axis', -1)) ? undefined : 'only the last axis';
    case 'LpNormalization':
      if (attrInt(node, 'p', 2) !== 2) return 'only p = 2';
      return [-1, 1].includes(attrInt(node, 'axis', -1)) ? undefined : 'only the last axis';
    default:
      return undefined;
  }
}

export function supports(original: ModelProto): SupportReport {
  const model = foldPadsIntoConvs(foldConstants(original));
  const consts = new ModelConstants(model);
  const problems: SupportReport['problems'] = [];
  const graphInputs = new Set((model.graph?.input ?? []).map((i) => i.name ?? ''));
  for (const node of model.graph?.node ?? []) {
    const why = problem(node, consts, graphInputs);
    if (why) problems.push({ what: node.opType ?? '', name: node.name ?? '', reason: why });
  }
  for (const input of model.graph?.input ?? []) {
    const elem = input.type?.tensorType?.elemType;
    if (consts.has(input.name ?? '')) continue;
    const name = input.name ?? '';
    if (elem !== 1) problems.push({ what: 'input', name, reason: 'only float32 inputs' });
    const rank = input.type?.tensorType?.shape?.dim?.length;
    if (rank !== undefined && rank !== 2 && rank !== 4)
      problems.push({ what: 'input', name, reason: `rank ${rank}` });
  }
  const unsupported = problems.map((p) => `${p.what} ${p.name}: ${p.reason}`.replace(/ {2}/, ' '));
  return { ok: problems.length === 0, unsupported, problems };
}
