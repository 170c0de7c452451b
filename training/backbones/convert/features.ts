/**
 * Which converted tensors make good feature vectors. Tensors are named after Keras layers, so
 * any layer name can be passed as a feature layer; these are the ones worth suggesting: pooled
 * image features (global pooling, or Flatten of a 1×1 map) first, then hidden Dense layers.
 */
import type { Dim } from '../../../shared/onnx/builder.ts';
import { type GraphTensor, onnxShape } from './context.ts';
import type { TfNode } from './graph.ts';

export interface FeatureTensor {
  /** ONNX tensor name (pass this, or the Keras layer name, as a feature layer). */
  name: string;
  /** Keras layer that produced it. */
  layer: string;
  className: string;
  /** ONNX shape: batch 'N', unknown sizes '?', rank-4 tensors NCHW. */
  shape: Dim[];
  kind: 'pooled' | 'dense' | 'spatial' | 'other';
  /** Pooled and hidden-dense vectors are suggested; spatial maps are listed for cutting. */
  suggested: boolean;
}

export function dims(shape: GraphTensor['shape']): Dim[] {
  return onnxShape(shape).map((d, i) => (d == null ? (i === 0 ? 'N' : '?') : d));
}

function kindOf(node: TfNode, t: GraphTensor, isOutput: boolean): FeatureTensor['kind'] {
  const cls = node.outboundLayer.getClassName();
  const rank = t.shape.length;
  if (rank === 4) return 'spatial';
  if (rank !== 2) return 'other';
  if (cls === 'GlobalAveragePooling2D' || cls === 'GlobalMaxPooling2D') return 'pooled';
  if (cls === 'Flatten') {
    const s = node.inputTensors[0]?.shape;
    if (s && s.length === 4 && s[1] === 1 && s[2] === 1) return 'pooled';
  }
  if (cls === 'Dense' && !isOutput) return 'dense';
  return 'other';
}

/**
 * Every distinct tensor produced by a layer of the converted graph, suggested ones first.
 * `lookup` gives where a node's first output lives (undefined for nodes without one).
 */
export function collectFeatureTensors(
  order: readonly TfNode[],
  lookup: (node: TfNode) => GraphTensor | undefined,
  outputNames: ReadonlySet<string>,
): FeatureTensor[] {
  const seen = new Set<string>();
  const all: FeatureTensor[] = [];
  for (const node of order) {
    const t = lookup(node);
    if (t === undefined || seen.has(t.name)) continue;
    seen.add(t.name);
    const kind = kindOf(node, t, outputNames.has(t.name));
    all.push({
      name: t.name,
      layer: node.outboundLayer.name,
      className: node.outboundLayer.getClassName(),
      shape: dims(t.shape),
      kind,
      suggested: kind === 'pooled' || kind === 'dense',
    });
  }
  const rank = (f: FeatureTensor) => ({ pooled: 0, dense: 1, spatial: 2, other: 3 })[f.kind];
  return all
    .map((f, i) => ({ f, i }))
    .sort((a, b) => rank(a.f) - rank(b.f) || a.i - b.i)
    .map(({ f }) => f);
}
