/** The ONNX graph from the freeze boundary (as its input) to the feature tensor: the reference the tfjs conversion is checked against. */
import { makeValueInfo } from '../../../shared/onnx/builder.ts';
import { type ModelProto, type NodeProto, onnx, TensorDataType } from '../../../shared/onnx/proto.ts';

export function suffixModel(
  model: ModelProto,
  boundary: string,
  boundaryDims: readonly number[],
  nodes: readonly NodeProto[],
  feature: string,
): onnx.ModelProto {
  const g = model.graph!;
  const read = new Set(nodes.flatMap((n) => n.input ?? []));
  const produced = new Set(nodes.flatMap((n) => n.output ?? []));
  // Constant nodes the suffix reads are carried along (initializers are filtered by name).
  const constants = (g.node ?? []).filter(
    (n) => n.opType === 'Constant' && (n.output ?? []).some((o) => read.has(o) && !produced.has(o)),
  );
  return onnx.ModelProto.create({
    ...model,
    graph: {
      name: 'suffix',
      node: [...constants, ...nodes],
      initializer: (g.initializer ?? []).filter((t) => read.has(t.name ?? '')),
      input: [makeValueInfo(boundary, TensorDataType.FLOAT, ['N', ...boundaryDims])],
      output: [makeValueInfo(feature, TensorDataType.FLOAT)],
    },
    metadataProps: [],
  });
}
