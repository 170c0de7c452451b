/**
 * State shared by the per-layer converters while one tfjs model is turned into an ONNX graph.
 *
 * Layout rule (the whole converter relies on it): a Keras tensor of rank 4 is channels-last
 * [N,H,W,C] in tfjs and is stored channels-first [N,C,H,W] in the ONNX graph; every other rank is
 * stored exactly as Keras has it. Converters that change rank insert the Transposes.
 */
import type * as tf from '@tensorflow/tfjs';
import { type AttrValue, type GraphBuilder, ints } from '../../../shared/onnx/builder.ts';
import type { Shape, TfNode } from './graph.ts';

/** A Keras tensor as it exists in the ONNX graph. */
export interface GraphTensor {
  /** ONNX tensor name. */
  name: string;
  /** The Keras (channels-last) shape, batch first; null = unknown. */
  shape: Shape;
  /**
   * Set on a conv's output when a following BatchNormalization was folded into it: the tensor is
   * the BN's, so it is not listed under the conv's layer name.
   */
  fused?: true;
}

/** Keras axis (may be negative) → ONNX axis under the layout rule. */
export function onnxAxis(kerasAxis: number, rank: number): number {
  const a = kerasAxis < 0 ? kerasAxis + rank : kerasAxis;
  if (rank !== 4) return a;
  return [0, 2, 3, 1][a];
}

/** The ONNX shape of a Keras shape under the layout rule. */
export function onnxShape(shape: Shape): Shape {
  if (shape.length !== 4) return shape.slice();
  return [shape[0], shape[3], shape[1], shape[2]];
}

/** ONNX names: keep Keras names readable but free of characters that trouble CLIs and files. */
export function sanitizeName(name: string): string {
  const s = name.replace(/[^A-Za-z0-9_./:-]/g, '_');
  return s.length > 0 ? s : 'tensor';
}

export class ConvertContext {
  readonly g: GraphBuilder;
  /** Nodes already emitted by an earlier converter (e.g. a BatchNormalization folded into a conv). */
  private readonly handled = new Set<TfNode>();
  private readonly consumers: Map<number, TfNode[]>;
  private readonly modelOutputIds: Set<number>;
  private readonly constants = new Map<string, string>();
  /** SymbolicTensor id → where it lives in the ONNX graph. */
  private readonly tensors = new Map<number, GraphTensor>();
  /** Keras layer name → its (first) output in the ONNX graph, for feature-layer lookup. */
  readonly layerTensors = new Map<string, GraphTensor & { className: string }>();

  constructor(g: GraphBuilder, consumers: Map<number, TfNode[]>, modelOutputIds: Set<number>) {
    this.g = g;
    this.consumers = consumers;
    this.modelOutputIds = modelOutputIds;
  }

  /** A fresh tensor name derived from a Keras layer name. */
  tensorName(base: string): string {
    return this.g.unique(sanitizeName(base));
  }

  /** Emits a node named after its Keras layer; returns its single output name. */
  op(
    opType: string,
    inputs: readonly string[],
    output: string,
    layer: string,
    attrs?: Readonly<Record<string, AttrValue>>,
  ): string {
    this.g.node(opType, inputs, [output], attrs, { name: this.g.unique(`${sanitizeName(layer)}/${opType}`) });
    return output;
  }

  /** A weight initializer named `<layer>/<what>`. */
  weight(layer: string, what: string, data: Float32Array, dims: readonly number[]): string {
    return this.g.initializer(this.g.unique(`${sanitizeName(layer)}/${what}`), data, dims);
  }

  /** A shared float scalar constant (Clip bounds, Mul factors). */
  scalar(value: number): string {
    return this.constant(`f:${value}`, () =>
      this.g.initializer(this.g.unique('const_f'), new Float32Array([value]), []),
    );
  }

  /** A shared int64 1-D constant (shapes, pads, axes). */
  int64s(values: readonly number[]): string {
    return this.constant(`i:${values.join(',')}`, () =>
      this.g.initializer(this.g.unique('const_i'), values.slice(), [values.length]),
    );
  }

  /** Transpose helper; `perm` is the ONNX permutation. */
  transpose(input: string, perm: readonly number[], output: string, layer: string): string {
    return this.op('Transpose', [input], output, layer, { perm: ints(perm) });
  }

  /** The consumers (within the converted graph) of a symbolic tensor. */
  consumersOf(t: tf.SymbolicTensor): TfNode[] {
    return this.consumers.get(t.id) ?? [];
  }

  /** The only consumer of `t` when there is exactly one and `t` is not a model output. */
  soleConsumer(t: tf.SymbolicTensor): TfNode | undefined {
    const c = this.consumersOf(t);
    if (c.length !== 1 || this.modelOutputIds.has(t.id)) return undefined;
    return c[0];
  }

  /** Records where a Keras symbolic tensor lives in the ONNX graph. */
  bind(t: tf.SymbolicTensor, value: GraphTensor): void {
    this.tensors.set(t.id, value);
    const layer = t.sourceLayer;
    if (!value.fused && !this.layerTensors.has(layer.name)) {
      this.layerTensors.set(layer.name, {
        name: value.name,
        shape: value.shape,
        className: layer.getClassName(),
      });
    }
  }

  lookup(t: tf.SymbolicTensor): GraphTensor {
    const v = this.tensors.get(t.id);
    if (v === undefined) throw new Error(`internal: tensor ${t.name} was used before it was converted`);
    return v;
  }

  markHandled(node: TfNode): void {
    this.handled.add(node);
  }

  isHandled(node: TfNode): boolean {
    return this.handled.has(node);
  }

  private constant(key: string, make: () => string): string {
    let name = this.constants.get(key);
    if (name === undefined) {
      name = make();
      this.constants.set(key, name);
    }
    return name;
  }
}
