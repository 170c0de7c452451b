/**
 * Assembling the ONE exported ONNX file: the backbone's frozen prefix (its original ONNX nodes,
 * untouched) + the trained part converted from tfjs, joined at the boundary tensor. The converter
 * takes channels-first input, which is exactly the layout of the prefix's spatial tensors. The
 * result has two outputs: `probabilities` [N, C] and `embedding` [N, D] (the feature layer).
 */
import type * as tf from '@tensorflow/tfjs';
import { EdgetuneError } from '../../shared/errors.ts';
import { makeValueInfo } from '../../shared/onnx/builder.ts';
import { type GraphProto, type NodeProto, onnx, TensorDataType, toNumber } from '../../shared/onnx/proto.ts';
import { cutAt } from '../../shared/onnx/surgery.ts';
import { assertValid } from '../../shared/onnx/validate.ts';
import { convertLayersModel } from '../backbones/convert/index.ts';

export const PROBABILITIES = 'probabilities';
export const EMBEDDING = 'embedding';
const BOUNDARY_INPUT = '__boundary__';

/** Every tensor and node name used in a graph. */
function usedNames(g: GraphProto): Set<string> {
  const s = new Set<string>();
  for (const vi of [...(g.input ?? []), ...(g.output ?? []), ...(g.valueInfo ?? [])])
    if (vi.name) s.add(vi.name);
  for (const t of g.initializer ?? []) if (t.name) s.add(t.name);
  for (const n of g.node ?? []) {
    if (n.name) s.add(n.name);
    for (const o of [...(n.input ?? []), ...(n.output ?? [])]) if (o) s.add(o);
  }
  return s;
}

function uniqueIn(used: Set<string>, base: string): string {
  let name = base;
  for (let i = 1; used.has(name); i++) name = `${base}_${i}`;
  used.add(name);
  return name;
}

function defaultOpset(model: onnx.IModelProto): number {
  const o = (model.opsetImport ?? []).find((x) => !x.domain);
  return o ? toNumber(o.version) : 0;
}

function mergeOpsets(a: onnx.IModelProto, b: onnx.IModelProto): onnx.IOperatorSetIdProto[] {
  const versions = new Map<string, number>();
  for (const o of [...(a.opsetImport ?? []), ...(b.opsetImport ?? [])]) {
    const d = o.domain ?? '';
    versions.set(d, Math.max(versions.get(d) ?? 0, toNumber(o.version)));
  }
  return [...versions].map(([domain, version]) => ({ domain, version }));
}

export interface OutputSpec {
  probabilities: string;
  embedding: string;
  classes: number;
  embeddingDim: number;
}

/** Adds Identity nodes naming the two public outputs, declares them (and nothing else) as outputs. */
function withPublicOutputs(g: GraphProto, used: Set<string>, spec: OutputSpec): GraphProto {
  for (const n of [PROBABILITIES, EMBEDDING]) {
    if (used.has(n) && n !== spec.probabilities && n !== spec.embedding) {
      throw new EdgetuneError('conflict', `the backbone already has a tensor named ${n}`);
    }
  }
  const nodes: NodeProto[] = [...(g.node ?? [])];
  nodes.push({
    opType: 'Identity',
    name: uniqueIn(used, 'output/probabilities'),
    input: [spec.probabilities],
    output: [PROBABILITIES],
  });
  nodes.push({
    opType: 'Identity',
    name: uniqueIn(used, 'output/embedding'),
    input: [spec.embedding],
    output: [EMBEDDING],
  });
  return {
    ...g,
    node: nodes,
    output: [
      makeValueInfo(PROBABILITIES, TensorDataType.FLOAT, ['N', spec.classes]),
      makeValueInfo(EMBEDDING, TensorDataType.FLOAT, ['N', spec.embeddingDim]),
    ],
  };
}

/** Replaces the edgetune.* metadata of the source with `metadata` (other keys are kept). */
function withMetadata(
  model: onnx.IModelProto,
  metadata: Record<string, string>,
): onnx.IStringStringEntryProto[] {
  const kept = (model.metadataProps ?? []).filter((p) => !p.key?.startsWith('edgetune.'));
  return [...kept, ...Object.entries(metadata).map(([key, value]) => ({ key, value }))];
}

export interface AssembleTransferOptions {
  backbone: onnx.IModelProto;
  boundary: string;
  /** The trained part: boundary (channels-last in tfjs) → probabilities. */
  trainable: tf.LayersModel;
  /** Layer of `trainable` giving the embedding; undefined = the boundary itself is the embedding. */
  featureLayer?: string;
  classes: number;
  embeddingDim: number;
  metadata: Record<string, string>;
}

export function assembleTransferModel(opts: AssembleTransferOptions): onnx.ModelProto {
  const prefix = cutAt(opts.backbone, opts.boundary);
  const converted = convertLayersModel(opts.trainable, {
    inputName: BOUNDARY_INPUT,
    extraOutputs: opts.featureLayer ? [opts.featureLayer] : [],
  });
  const head = converted.model.graph!;
  const pg = prefix.graph!;
  const used = usedNames(pg);
  const rename = new Map<string, string>([[BOUNDARY_INPUT, opts.boundary]]);
  const mapName = (n: string) => {
    if (!n) return n;
    let m = rename.get(n);
    if (m === undefined) {
      m = uniqueIn(used, `head/${n}`);
      rename.set(n, m);
    }
    return m;
  };
  const initializer = (head.initializer ?? []).map((t) => ({ ...t, name: mapName(t.name ?? '') }));
  const nodes = (head.node ?? []).map((n) => ({
    ...n,
    name: uniqueIn(used, `head/${n.name ?? n.opType}`),
    input: (n.input ?? []).map(mapName),
    output: (n.output ?? []).map(mapName),
  }));
  const probs = converted.outputs.find((o) => o.kind === 'probabilities') ?? converted.outputs[0];
  if (!probs) throw new EdgetuneError('internal', 'the converted head has no output');
  const embedding = opts.featureLayer
    ? converted.outputs.find((o) => o.layer === opts.featureLayer)?.name
    : BOUNDARY_INPUT;
  if (embedding === undefined)
    throw new EdgetuneError('internal', `no converted tensor for ${opts.featureLayer}`);
  let graph: GraphProto = {
    ...pg,
    node: [...(pg.node ?? []), ...nodes],
    initializer: [...(pg.initializer ?? []), ...initializer],
  };
  graph = withPublicOutputs(graph, used, {
    probabilities: mapName(probs.name),
    embedding: mapName(embedding),
    classes: opts.classes,
    embeddingDim: opts.embeddingDim,
  });
  if (defaultOpset(prefix) < 13) {
    // The converter emits opset-17 ops; a much older backbone graph is lifted with it.
    throw new EdgetuneError(
      'unsupported',
      `backbone opset ${defaultOpset(prefix)} is older than 13; re-export it`,
    );
  }
  const model = onnx.ModelProto.create({
    ...prefix,
    producerName: 'edgetune',
    opsetImport: mergeOpsets(prefix, converted.model),
    graph,
    metadataProps: withMetadata(prefix, opts.metadata),
  });
  assertValid(model);
  return model;
}

/** A model that is already complete (the from-scratch baseline): converted, with public outputs. */
export function assembleStandaloneModel(
  model: tf.LayersModel,
  featureLayer: string,
  classes: number,
  embeddingDim: number,
  metadata: Record<string, string>,
): onnx.ModelProto {
  const converted = convertLayersModel(model, { inputRange: [0, 1], extraOutputs: [featureLayer] });
  const g = converted.model.graph!;
  const probs = converted.outputs.find((o) => o.kind === 'probabilities') ?? converted.outputs[0]!;
  const emb = converted.outputs.find((o) => o.layer === featureLayer)!;
  const graph = withPublicOutputs(g, usedNames(g), {
    probabilities: probs.name,
    embedding: emb.name,
    classes,
    embeddingDim,
  });
  const out = onnx.ModelProto.create({
    ...converted.model,
    graph,
    metadataProps: withMetadata(converted.model, metadata),
  });
  assertValid(out);
  return out;
}
