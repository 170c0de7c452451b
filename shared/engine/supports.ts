/**
 * Static check of whether the engine can run a model: op types and the attributes it can decide
 * without shapes, as each op's lowering module declares them (ops/table.ts). Shape-dependent limits surface when the session is created (EdgetuneError
 * 'unsupported'), so a caller should still fall back to onnxruntime-web if creation throws.
 */
import { foldConstants } from '../onnx/fold-constants.ts';
import { foldPadsIntoConvs } from '../onnx/fold-pad.ts';
import type { ModelProto, NodeProto } from '../onnx/proto.ts';
import { ModelConstants } from './constants.ts';
import type { CheckContext } from './lowering.ts';
import { loweringFor } from './ops/table.ts';

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

export { ENGINE_OPS } from './ops/table.ts';

function problem(node: NodeProto, ctx: CheckContext): string | undefined {
  if (node.domain && node.domain !== 'ai.onnx') return `domain ${node.domain}`;
  const lowering = loweringFor(node.opType ?? '');
  return lowering ? lowering.check(node, ctx) : 'op not supported';
}

/**
 * The graph as the engine lowers it: exporters' constant plumbing folded, zero Pads before convs
 * made the convs' own pads. Both passes return the graph untouched (after one scan) when there is
 * nothing to fold, as for every edgetune export.
 */
export function prepareForEngine(original: ModelProto): ModelProto {
  return foldPadsIntoConvs(foldConstants(original));
}

export function supports(original: ModelProto): SupportReport {
  return supportsPrepared(prepareForEngine(original));
}

/**
 * supports() for a graph prepareForEngine() already returned (session creation: no second pass;
 * it passes the constants it lowers with, so each is read once).
 */
export function supportsPrepared(model: ModelProto, consts = new ModelConstants(model)): SupportReport {
  const problems: SupportReport['problems'] = [];
  const graphInputs = new Set((model.graph?.input ?? []).map((i) => i.name ?? ''));
  for (const node of model.graph?.node ?? []) {
    const why = problem(node, { consts, graphInputs });
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
