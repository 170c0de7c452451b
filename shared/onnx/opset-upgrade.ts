/**
 * Upgrading an old-opset graph (ai.onnx < 13) to opset 13, which the rest of edgetune assumes
 * (exports join the backbone with nodes built for opset 13). Only ops whose meaning is known are
 * rewritten or kept; anything else is refused with the op names, before any work starts.
 */
import { EdgetuneError } from '../errors.ts';
import { attrFloat, attrInt, attrInts } from './attributes.ts';
import type { ModelProto, NodeProto, TensorProto } from './proto.ts';
import { toNumber } from './proto.ts';
import { inferShapes } from './shapes.ts';
import { makeTensor } from './tensor.ts';

export const TARGET_OPSET = 13;

/** Ops whose inputs, attributes and results are the same from opset 9 to 13. */
const UNCHANGED = new Set([
  'Conv',
  'ConvTranspose',
  'Relu',
  'LeakyRelu',
  'PRelu',
  'Sigmoid',
  'HardSigmoid',
  'Tanh',
  'Elu',
  'Add',
  'Sub',
  'Mul',
  'Div',
  'Sum',
  'Max',
  'Min',
  'Abs',
  'Neg',
  'Exp',
  'Sqrt',
  'Reciprocal',
  'Pow',
  'GlobalAveragePool',
  'GlobalMaxPool',
  'AveragePool',
  'MaxPool',
  'Flatten',
  'Reshape',
  'Transpose',
  'Gemm',
  'MatMul',
  'Concat',
  'Identity',
  'Constant',
  'Shape',
  'Gather',
  'Cast',
  'ReduceMean',
  'ReduceMax',
  'ReduceSum',
  'LRN',
  'InstanceNormalization',
]);

/** The graph's ai.onnx opset version (0 when none is imported). */
export function defaultOpset(model: ModelProto): number {
  const o = (model.opsetImport ?? []).find((x) => !x.domain || x.domain === 'ai.onnx');
  return o ? toNumber(o.version) : 0;
}

function without(node: NodeProto, names: readonly string[]): NodeProto {
  return { ...node, attribute: (node.attribute ?? []).filter((a) => !names.includes(a.name ?? '')) };
}

/** Returns the model at opset 13 or throws EdgetuneError listing the ops it cannot upgrade. */
export function upgradeOpset(model: ModelProto): ModelProto {
  const from = defaultOpset(model);
  if (from >= TARGET_OPSET) return model;
  if (from < 7) {
    throw new EdgetuneError(
      'unsupported',
      `ONNX opset ${from} is too old to upgrade (7 or later is supported)`,
    );
  }
  const g = model.graph ?? {};
  const shapes = inferShapes(model);
  const initializers: TensorProto[] = [...(g.initializer ?? [])];
  const taken = new Set<string>();
  for (const n of g.node ?? []) for (const o of [...(n.input ?? []), ...(n.output ?? [])]) taken.add(o);
  for (const t of initializers) taken.add(t.name ?? '');
  const constant = (base: string, data: Float32Array | number[], dims: number[]): string => {
    let name = base;
    for (let i = 1; taken.has(name); i++) name = `${base}_${i}`;
    taken.add(name);
    initializers.push(makeTensor(name, data, dims));
    return name;
  };
  const refused = new Set<string>();
  const nodes = (g.node ?? []).map((node): NodeProto => {
    const op = node.opType ?? '';
    const id = node.name || node.output?.[0] || op;
    if (node.domain && node.domain !== 'ai.onnx') return node;
    if (UNCHANGED.has(op)) return without(node, ['consumed_inputs']);
    const ins = node.input ?? [];
    switch (op) {
      case 'BatchNormalization':
        // `spatial` (opset < 9) was 1 for every CNN export; `is_test` and `consumed_inputs` are gone.
        if (attrInt(node, 'spatial', 1) !== 1) break;
        return {
          ...without(node, ['spatial', 'is_test', 'consumed_inputs']),
          output: node.output?.slice(0, 1),
        };
      case 'Dropout':
        // Inference: an identity; the ratio moved from an attribute to an input in opset 12.
        return { ...without(node, ['ratio', 'is_test']), output: node.output?.slice(0, 1) };
      case 'Clip': {
        if (from >= 11) return node;
        const lo = attrFloat(node, 'min', -3.4028234663852886e38);
        const hi = attrFloat(node, 'max', 3.4028234663852886e38);
        const min = constant(`${id}/min`, Float32Array.of(lo), []);
        const max = constant(`${id}/max`, Float32Array.of(hi), []);
        return { ...without(node, ['min', 'max']), input: [ins[0]!, min, max] };
      }
      case 'Unsqueeze':
      case 'Squeeze': {
        const axes = attrInts(node, 'axes');
        if (!axes) return node;
        return { ...without(node, ['axes']), input: [ins[0]!, constant(`${id}/axes`, axes, [axes.length])] };
      }
      case 'Pad': {
        if (from >= 11) return node;
        if ((attrInts(node, 'pads') ?? []).length === 0) break;
        const pads = attrInts(node, 'pads')!;
        const value = constant(`${id}/value`, Float32Array.of(attrFloat(node, 'value', 0)), []);
        return {
          ...without(node, ['pads', 'value']),
          input: [ins[0]!, constant(`${id}/pads`, pads, [pads.length]), value],
        };
      }
      case 'Slice': {
        if (from >= 10) return node;
        const starts = attrInts(node, 'starts');
        const ends = attrInts(node, 'ends');
        if (!starts || !ends) break;
        const axes = attrInts(node, 'axes') ?? starts.map((_, i) => i);
        return {
          ...without(node, ['starts', 'ends', 'axes']),
          input: [
            ins[0]!,
            constant(`${id}/starts`, starts, [starts.length]),
            constant(`${id}/ends`, ends, [ends.length]),
            constant(`${id}/axes`, axes, [axes.length]),
          ],
        };
      }
      case 'Softmax':
      case 'LogSoftmax': {
        // Before 13 the input is flattened to 2-D at `axis`; the same only when axis is the last.
        const rank = shapes.get(ins[0] ?? '')?.shape?.length;
        const axis = attrInt(node, 'axis', 1);
        if (rank !== undefined && (axis === -1 || axis === rank - 1)) return node;
        break;
      }
      default:
        break;
    }
    refused.add(op);
    return node;
  });
  if (refused.size > 0) {
    throw new EdgetuneError(
      'unsupported',
      `cannot upgrade this opset-${from} graph to opset ${TARGET_OPSET}: ${[...refused].sort().join(', ')} ` +
        `changed meaning since; re-export it with opset ${TARGET_OPSET} or later`,
    );
  }
  const opsetImport = (model.opsetImport ?? []).map((o) =>
    !o.domain || o.domain === 'ai.onnx' ? { ...o, version: TARGET_OPSET } : o,
  );
  // IR 7 is the first that allows initializers without a matching graph input.
  const irVersion = Math.max(toNumber(model.irVersion ?? 7), 7);
  return { ...model, irVersion, opsetImport, graph: { ...g, node: nodes, initializer: initializers } };
}
