import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { EdgetuneError } from '../../../shared/errors.ts';
import { z } from 'zod';
import { inputDims, withInputShape } from '../../../shared/onnx/input-shape.ts';
import { decodeModel, type ModelProto } from '../../../shared/onnx/proto.ts';
import { inputOptionsFromFlags } from '../../backbones/input-options.ts';
import {
  inspectModel,
  listTensors,
  type ModelSummary,
  type TensorSummary,
} from '../../../shared/onnx/inspect.ts';

const InspectFlags = z.object({
  json: z.boolean().optional(),
  tensors: z.boolean().optional(),
  inputSize: z.string().optional(),
});
import { printResult } from '../output.ts';

async function readModelFile(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new EdgetuneError('not_found', `${path}: no such file`);
    if (code === 'EISDIR') throw new EdgetuneError('bad_request', `${path}: is a directory`);
    throw e;
  }
}

function millions(n: number): string {
  return `${(n / 1e6).toFixed(2)} M`;
}

function tensorLine(t: TensorSummary): string {
  const shape = t.shape ? `[${t.shape.join(', ')}]` : '(shape unknown)';
  return `  ${t.name.padEnd(24)} ${t.elemType.padEnd(8)} ${shape}`;
}

export function formatSummary(path: string, s: ModelSummary): string {
  const ops = Object.entries(s.opHistogram).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const opsets = Object.entries(s.opsets)
    .map(([d, v]) => `${d} ${v}`)
    .join(', ');
  const lines = [
    `${path}  (graph ${s.graphName || '-'}, IR ${s.irVersion}, opsets: ${opsets}, producer: ${s.producer || '-'})`,
    'inputs:',
    ...s.inputs.map(tensorLine),
    'outputs:',
    ...s.outputs.map(tensorLine),
    `nodes: ${s.nodeCount}`,
    ...ops.map(([op, n]) => `  ${op.padEnd(24)} ${String(n).padStart(5)}`),
    `parameters: ${millions(s.parameters)} (${s.parameters})   initializers: ${(s.initializerBytes / 2 ** 20).toFixed(2)} MiB`,
    `MACs: ${millions(s.macs)} (${s.macs}) per sample` +
      (s.macsUnknown.length ? `, lower bound: shapes unknown at ${s.macsUnknown.length} node(s)` : ''),
  ];
  const meta = Object.entries(s.metadata);
  if (meta.length > 0) lines.push('metadata:', ...meta.map(([k, v]) => `  ${k}: ${v}`));
  return lines.join('\n');
}

export function register(program: Command): void {
  program
    .command('inspect <model>')
    .description('summarise an ONNX model: inputs/outputs, op histogram, parameters, MACs, metadata')
    .option('--tensors', 'also list every tensor the graph computes, with its shape (for --feature-layer)')
    .option('--input-size <HxW>', 'height and width for a graph whose input size is dynamic')
    .option('--json', 'print one JSON object')
    .action(async (path: string, raw: unknown) => {
      const options = InspectFlags.parse(raw);
      let model: ModelProto = decodeModel(await readModelFile(path));
      const size = inputOptionsFromFlags({ inputSize: options.inputSize }).inputSize;
      if (size) {
        // The channel dim is the one holding 1 or 3 (NCHW when both could be).
        const dims = inputDims(model);
        const nchw = dims[1] === 1 || dims[1] === 3 || !(dims[3] === 1 || dims[3] === 3);
        model = withInputShape(
          model,
          nchw ? [dims[1] as number, size.height, size.width] : [size.height, size.width, dims[3] as number],
        );
      }
      const summary = inspectModel(model);
      const tensors = options.tensors ? listTensors(model) : undefined;
      printResult(options, { file: path, ...summary, ...(tensors ? { tensors } : {}) }, () =>
        [
          formatSummary(path, summary),
          ...(tensors ? ['tensors:', ...tensors.map((t) => `${tensorLine(t)}  ${t.op}`)] : []),
        ].join('\n'),
      );
    });
}
