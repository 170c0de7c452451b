import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { EdgetuneError } from '../../../shared/errors.ts';
import { decodeModel } from '../../../shared/onnx/proto.ts';
import { inspectModel, type ModelSummary, type TensorSummary } from '../../../shared/onnx/inspect.ts';
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
    .option('--json', 'print one JSON object')
    .action(async (path: string, options: { json?: boolean }) => {
      const model = decodeModel(await readModelFile(path));
      const summary = inspectModel(model);
      printResult(options, { file: path, ...summary }, () => formatSummary(path, summary));
    });
}
