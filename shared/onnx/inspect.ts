/**
 * A summary of an ONNX model: interface, op histogram, parameter and multiply-accumulate counts.
 * MACs count Conv, ConvTranspose, Gemm and MatMul (the ops that dominate CNN cost), per sample:
 * a symbolic batch dim counts as 1.
 */
import { attrInt, attrTensor } from './attributes.ts';
import type { Dim } from './builder.ts';
import { dataTypeName, type ModelProto, type NodeProto, TensorDataType, toNumber } from './proto.ts';
import { inferShapes, shapeFromValueInfo, type TensorInfo, UNKNOWN_DIM } from './shapes.ts';
import { tensorByteLength, tensorElementCount } from './tensor.ts';

export interface TensorSummary {
  name: string;
  /** null = rank unknown; string dims are symbolic ('N') or unknown ('?'). */
  shape: Dim[] | null;
  /** Data type name: 'FLOAT', 'INT64', ... */
  elemType: string;
}

export interface ModelSummary {
  graphName: string;
  irVersion: number;
  producer: string;
  inputs: TensorSummary[];
  outputs: TensorSummary[];
  nodeCount: number;
  /** Node count per op type; ops outside the default domain are written 'domain:Op'. */
  opHistogram: Record<string, number>;
  /** Elements of all initializers and Constant-node tensors except INT64/BOOL/STRING ones. */
  parameters: number;
  /** Multiply-accumulates of Conv/ConvTranspose/Gemm/MatMul for one sample. */
  macs: number;
  /** Names of MAC-counted nodes whose shapes could not be inferred (so `macs` is a lower bound). */
  macsUnknown: string[];
  initializerBytes: number;
  /** Opset version per domain; the default domain is written 'ai.onnx'. */
  opsets: Record<string, number>;
  metadata: Record<string, string>;
}

/** Shape with symbolic dims counted as 1; undefined if any dim is unknown. */
function perSample(shape: readonly Dim[] | undefined): number[] | undefined {
  if (!shape || shape.includes(UNKNOWN_DIM)) return undefined;
  return shape.map((d) => (typeof d === 'number' ? d : 1));
}

const prod = (xs: readonly number[]): number => xs.reduce((a, b) => a * b, 1);

/** MACs of one node given inferred shapes; 0 for ops that are not counted, undefined if unknown. */
export function nodeMacs(node: NodeProto, shapes: ReadonlyMap<string, TensorInfo>): number | undefined {
  const ins = node.input ?? [];
  const shapeOf = (name: string | undefined) => perSample(name ? shapes.get(name)?.shape : undefined);
  switch (node.opType) {
    case 'Conv': {
      // Each output element sums over (C_in / group) × kernel: exactly W's dims after the first.
      const y = shapeOf(node.output?.[0]);
      const w = shapeOf(ins[1]);
      return y && w ? prod(y) * prod(w.slice(1)) : undefined;
    }
    case 'ConvTranspose': {
      // Each input element scatters into (C_out / group) × kernel outputs.
      const x = shapeOf(ins[0]);
      const w = shapeOf(ins[1]);
      return x && w ? prod(x) * prod(w.slice(1)) : undefined;
    }
    case 'Gemm': {
      const a = shapeOf(ins[0]);
      const y = shapeOf(node.output?.[0]);
      if (!a || !y || a.length !== 2) return undefined;
      const k = attrInt(node, 'transA', 0) ? a[0]! : a[1]!;
      return prod(y) * k;
    }
    case 'MatMul': {
      const a = shapeOf(ins[0]);
      const y = shapeOf(node.output?.[0]);
      return a && y && a.length > 0 ? prod(y) * a[a.length - 1]! : undefined;
    }
    default:
      return 0;
  }
}

function summarise(name: string, info: TensorInfo | undefined): TensorSummary {
  return { name, shape: info?.shape ?? null, elemType: dataTypeName(info?.elemType ?? 0) };
}

const NOT_PARAMETERS = new Set<number>([TensorDataType.INT64, TensorDataType.BOOL, TensorDataType.STRING]);

export function inspectModel(model: ModelProto): ModelSummary {
  const g = model.graph ?? {};
  const shapes = inferShapes(model);
  const initNames = new Set((g.initializer ?? []).map((t) => t.name));

  const opHistogram: Record<string, number> = {};
  let macs = 0;
  const macsUnknown: string[] = [];
  (g.node ?? []).forEach((node, i) => {
    const key = node.domain ? `${node.domain}:${node.opType}` : (node.opType ?? '');
    opHistogram[key] = (opHistogram[key] ?? 0) + 1;
    if (node.domain) return;
    const m = nodeMacs(node, shapes);
    if (m === undefined) macsUnknown.push(node.name || `#${i} ${node.opType}`);
    else macs += m;
  });

  let parameters = 0;
  let initializerBytes = 0;
  for (const t of g.initializer ?? []) {
    initializerBytes += tensorByteLength(t);
    if (!NOT_PARAMETERS.has(t.dataType ?? 0)) parameters += tensorElementCount(t);
  }
  // Exporters may carry weights as Constant nodes instead of initializers: they count too.
  for (const node of g.node ?? []) {
    const t = node.opType === 'Constant' && !node.domain ? attrTensor(node, 'value') : undefined;
    if (t && !NOT_PARAMETERS.has(t.dataType ?? 0)) parameters += tensorElementCount(t);
  }

  const opsets: Record<string, number> = {};
  for (const o of model.opsetImport ?? []) opsets[o.domain || 'ai.onnx'] = toNumber(o.version);
  const metadata: Record<string, string> = {};
  for (const p of model.metadataProps ?? []) metadata[p.key ?? ''] = p.value ?? '';

  return {
    graphName: g.name ?? '',
    irVersion: toNumber(model.irVersion),
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(' '),
    // Old IR lists initializers among the inputs too; those are not real inputs.
    inputs: (g.input ?? [])
      .filter((vi) => !initNames.has(vi.name))
      .map((vi) => summarise(vi.name ?? '', shapeFromValueInfo(vi))),
    outputs: (g.output ?? []).map((vi) => {
      const declared = shapeFromValueInfo(vi);
      const inferred = shapes.get(vi.name ?? '');
      return summarise(vi.name ?? '', declared?.shape ? declared : (inferred ?? declared));
    }),
    nodeCount: g.node?.length ?? 0,
    opHistogram,
    parameters,
    macs,
    macsUnknown,
    initializerBytes,
    opsets,
    metadata,
  };
}

/** Every tensor a node computes, in graph order, with its inferred shape and the op computing it. */
export function listTensors(model: ModelProto): (TensorSummary & { op: string })[] {
  const shapes = inferShapes(model);
  const out: (TensorSummary & { op: string })[] = [];
  for (const node of model.graph?.node ?? []) {
    if (node.opType === 'Constant') continue;
    for (const name of node.output ?? []) {
      if (name) out.push({ ...summarise(name, shapes.get(name)), op: node.opType ?? '' });
    }
  }
  return out;
}
