/**
 * A typed builder for ONNX graphs. Attribute values are tagged (`int(3)`, `floats([..])`, ...)
 * because a bare JS number cannot say whether ONNX should store it as INT or FLOAT, and a wrong
 * guess is rejected (or silently misread) by the runtime.
 */
import { EdgetuneError } from '../errors.ts';
import {
  AttributeType,
  type AttributeProto,
  encodeModel,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  onnx,
  type TensorProto,
  TensorDataType,
  toNumber,
  type ValueInfoProto,
} from './proto.ts';
import { makeTensor, type TensorData } from './tensor.ts';

/** A dimension: a fixed size, or a symbolic name such as 'N' for the batch. */
export type Dim = number | string;

export type AttrValue =
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'ints'; readonly value: readonly number[] }
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'floats'; readonly value: readonly number[] }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'strings'; readonly value: readonly string[] }
  | { readonly kind: 'tensor'; readonly value: TensorProto };

function checkInt(n: number): number {
  if (!Number.isSafeInteger(n))
    throw new EdgetuneError('bad_request', `attribute value ${n} is not an integer`);
  return n;
}

export const int = (value: number): AttrValue => ({ kind: 'int', value: checkInt(value) });
export const ints = (value: readonly number[]): AttrValue => ({ kind: 'ints', value: value.map(checkInt) });
export const float = (value: number): AttrValue => ({ kind: 'float', value });
export const floats = (value: readonly number[]): AttrValue => ({ kind: 'floats', value: value.slice() });
export const str = (value: string): AttrValue => ({ kind: 'string', value });
export const strs = (value: readonly string[]): AttrValue => ({ kind: 'strings', value: value.slice() });
export const tensorAttr = (value: TensorProto): AttrValue => ({ kind: 'tensor', value });

const utf8 = new TextEncoder();

export function toAttributeProto(name: string, v: AttrValue): AttributeProto {
  switch (v.kind) {
    case 'int':
      return { name, type: AttributeType.INT, i: v.value };
    case 'ints':
      return { name, type: AttributeType.INTS, ints: v.value.slice() };
    case 'float':
      return { name, type: AttributeType.FLOAT, f: v.value };
    case 'floats':
      return { name, type: AttributeType.FLOATS, floats: v.value.slice() };
    case 'string':
      return { name, type: AttributeType.STRING, s: utf8.encode(v.value) };
    case 'strings':
      return { name, type: AttributeType.STRINGS, strings: v.value.map((s) => utf8.encode(s)) };
    case 'tensor':
      return { name, type: AttributeType.TENSOR, t: v.value };
  }
}

/** A ValueInfoProto for a tensor; `shape` undefined means rank unknown. */
export function makeValueInfo(name: string, elemType: number, shape?: readonly Dim[]): ValueInfoProto {
  const tensorType: onnx.TypeProto.ITensor = { elemType };
  if (shape) {
    tensorType.shape = {
      dim: shape.map((d) => (typeof d === 'number' ? { dimValue: checkInt(d) } : { dimParam: d })),
    };
  }
  return { name, type: { tensorType } };
}

export interface GraphBuilderOptions {
  name: string;
  /** Default-domain opset; 17 by default (what onnxruntime 1.30 and ORT-web run fully). */
  opset?: number;
  producer?: string;
  producerVersion?: string;
  /** IR version; 8 by default (pairs with opset 17). */
  irVersion?: number;
}

export interface NodeOptions {
  name?: string;
  domain?: string;
}

export class GraphBuilder {
  private readonly graphName: string;
  private readonly irVersion: number;
  private readonly producer: string;
  private readonly producerVersion: string;
  private readonly opsets = new Map<string, number>();
  private readonly inputs: ValueInfoProto[] = [];
  private readonly outputs: ValueInfoProto[] = [];
  private readonly initializers: TensorProto[] = [];
  private readonly nodes: NodeProto[] = [];
  private readonly valueInfo: ValueInfoProto[] = [];
  private readonly meta = new Map<string, string>();
  /** Every tensor and node name in use, so `unique()` never collides. */
  private readonly used = new Set<string>();
  private readonly initializerNames = new Set<string>();
  /** Tensors defined so far (inputs, initializers, node outputs): each may be defined once. */
  private readonly defined = new Set<string>();
  private readonly base: ModelProto | undefined;

  constructor(opts: GraphBuilderOptions, base?: ModelProto) {
    this.graphName = opts.name;
    this.irVersion = opts.irVersion ?? 8;
    this.producer = opts.producer ?? 'edgetune';
    this.producerVersion = opts.producerVersion ?? '';
    this.opsets.set('', opts.opset ?? 17);
    this.base = base;
  }

  /** A builder holding a copy of an existing model's graph, to extend it (e.g. append a head). */
  static fromModel(model: ModelProto): GraphBuilder {
    const g = model.graph;
    if (!g) throw new EdgetuneError('corrupt', 'model has no graph');
    const b = new GraphBuilder(
      {
        name: g.name ?? 'graph',
        producer: model.producerName ?? 'edgetune',
        producerVersion: model.producerVersion ?? '',
        irVersion: toNumber(model.irVersion) || 8,
      },
      model,
    );
    b.opsets.clear();
    for (const o of model.opsetImport ?? []) b.opsets.set(o.domain ?? '', toNumber(o.version));
    if (!b.opsets.has('')) b.opsets.set('', 17);
    for (const vi of g.input ?? []) {
      b.inputs.push(vi);
      if (vi.name) b.defined.add(vi.name);
    }
    for (const vi of g.output ?? []) b.outputs.push(vi);
    for (const t of g.initializer ?? []) b.pushInitializer(t);
    for (const vi of g.valueInfo ?? []) b.valueInfo.push(vi);
    for (const n of g.node ?? []) {
      b.nodes.push(n);
      if (n.name) b.used.add(n.name);
      for (const o of n.output ?? []) {
        if (!o) continue;
        b.used.add(o);
        b.defined.add(o);
      }
    }
    for (const vi of [...b.inputs, ...b.outputs]) if (vi.name) b.used.add(vi.name);
    for (const p of model.metadataProps ?? []) b.meta.set(p.key ?? '', p.value ?? '');
    return b;
  }

  /** Declare a graph input. Returns its name. */
  input(name: string, shape: readonly Dim[], elemType: number = TensorDataType.FLOAT): string {
    this.claim(name);
    this.inputs.push(makeValueInfo(name, elemType, shape));
    return name;
  }

  /** Declare a graph output (shape optional: runtimes infer it). Returns its name. */
  output(name: string, shape?: readonly Dim[], elemType: number = TensorDataType.FLOAT): string {
    if (this.outputs.some((o) => o.name === name)) {
      throw new EdgetuneError('conflict', `output ${name} is declared twice`);
    }
    this.used.add(name);
    this.outputs.push(makeValueInfo(name, elemType, shape));
    return name;
  }

  /** Remove every declared output (used when a graph gets a new head). */
  clearOutputs(): void {
    this.outputs.length = 0;
  }

  /** Declared output names, in order. */
  outputNames(): string[] {
    return this.outputs.map((o) => o.name ?? '');
  }

  /**
   * A constant tensor. Float32Array → FLOAT, Int32Array → INT32, BigInt64Array or number[] → INT64;
   * stored as little-endian raw_data. Returns its name.
   */
  initializer(name: string, data: TensorData, dims: readonly number[]): string {
    const tensor = makeTensor(name, data, dims);
    this.claim(name);
    this.pushInitializer(tensor);
    return name;
  }

  /** Add an already-built TensorProto as an initializer. */
  addTensor(tensor: TensorProto): string {
    const name = tensor.name ?? '';
    this.claim(name);
    this.pushInitializer(tensor);
    return name;
  }

  /** Append a node (nodes must be added in topological order). Returns `outputs`. */
  node(
    opType: string,
    inputs: readonly string[],
    outputs: readonly string[],
    attrs?: Readonly<Record<string, AttrValue>>,
    opts?: NodeOptions,
  ): string[] {
    // Check every output before claiming any, so a rejected call leaves the builder unchanged.
    const fresh = outputs.filter((o) => o !== '');
    for (const o of fresh) this.checkFree(o);
    if (new Set(fresh).size !== fresh.length) {
      throw new EdgetuneError('conflict', `node ${opType} lists an output twice`);
    }
    for (const o of fresh) this.claim(o);
    const domain = opts?.domain ?? '';
    if (!this.opsets.has(domain)) this.opsets.set(domain, 1);
    const name = opts?.name ?? this.unique(opType);
    this.used.add(name);
    const node: NodeProto = { opType, name, input: inputs.slice(), output: outputs.slice() };
    if (domain) node.domain = domain;
    const attributes = Object.entries(attrs ?? {}).map(([k, v]) => toAttributeProto(k, v));
    if (attributes.length > 0) node.attribute = attributes;
    this.nodes.push(node);
    return outputs.slice();
  }

  /** A fresh name starting with `prefix` that no tensor or node uses yet (and reserves it). */
  unique(prefix: string): string {
    let name = prefix;
    for (let i = 1; this.used.has(name); i++) name = `${prefix}_${i}`;
    this.used.add(name);
    return name;
  }

  /** Whether a tensor with this name is an initializer of the graph being built. */
  hasInitializer(name: string): boolean {
    return this.initializerNames.has(name);
  }

  /** Set (or require) an opset version for a domain, e.g. ('com.microsoft', 1). */
  opset(domain: string, version: number): void {
    this.opsets.set(domain, version);
  }

  /** Add a value_info entry (intermediate tensor type/shape hint). */
  valueInfoHint(
    name: string,
    shape: readonly Dim[] | undefined,
    elemType: number = TensorDataType.FLOAT,
  ): void {
    this.valueInfo.push(makeValueInfo(name, elemType, shape));
  }

  metadata(key: string, value: string): void {
    this.meta.set(key, value);
  }

  build(): onnx.ModelProto {
    const graph: GraphProto = {
      name: this.graphName,
      node: this.nodes.slice(),
      initializer: this.initializers.slice(),
      input: this.inputs.slice(),
      output: this.outputs.slice(),
    };
    if (this.valueInfo.length > 0) graph.valueInfo = this.valueInfo.slice();
    const base = this.base?.graph;
    if (base?.docString) graph.docString = base.docString;
    if (base?.sparseInitializer?.length) graph.sparseInitializer = base.sparseInitializer;
    const model: ModelProto = {
      irVersion: this.irVersion,
      producerName: this.producer,
      opsetImport: [...this.opsets].map(([domain, version]) => ({ domain, version })),
      graph,
    };
    if (this.producerVersion) model.producerVersion = this.producerVersion;
    if (this.base?.docString) model.docString = this.base.docString;
    if (this.base?.modelVersion != null) model.modelVersion = this.base.modelVersion;
    if (this.base?.domain) model.domain = this.base.domain;
    if (this.base?.functions?.length) model.functions = this.base.functions;
    if (this.meta.size > 0) model.metadataProps = [...this.meta].map(([key, value]) => ({ key, value }));
    return onnx.ModelProto.create(model);
  }

  toBytes(): Uint8Array {
    return encodeModel(this.build());
  }

  private checkFree(name: string): void {
    if (!name) throw new EdgetuneError('bad_request', 'tensor names must not be empty');
    if (this.defined.has(name)) throw new EdgetuneError('conflict', `tensor ${name} is already defined`);
  }

  private claim(name: string): void {
    this.checkFree(name);
    this.defined.add(name);
    this.used.add(name);
  }

  private pushInitializer(t: TensorProto): void {
    this.initializers.push(t);
    if (t.name) {
      this.initializerNames.add(t.name);
      this.defined.add(t.name);
      this.used.add(t.name);
    }
  }
}
