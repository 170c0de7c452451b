/**
 * The contract between the compiler and its op lowerings. Each op family lives in one module
 * under ops/ and declares the op types it lowers, a static check (what `supports()` reports
 * before any shape is known) and the lowering itself; the compiler only places tensors, tracks
 * lifetimes and offers the fusion helpers below.
 */
import { EdgetuneError } from '../errors.ts';
import type { NodeProto } from '../onnx/proto.ts';
import type { Act, ModelConstants } from './constants.ts';
import type { KernelCalls, QuantParams } from './kernel-calls.ts';
import type { Addr, PersistentRegion, PlacedTensor } from './layout.ts';

export function unsupported(node: NodeProto, why: string): never {
  throw new EdgetuneError('unsupported', `engine: ${node.opType} ${node.name ?? ''}: ${why}`);
}

/** What a static check may look at: constants and the graph's inputs, no shapes. */
export interface CheckContext {
  consts: ModelConstants;
  graphInputs: ReadonlySet<string>;
}

export interface TensorShape {
  n: number;
  c: number;
  h: number;
  w: number;
}

/** The compiler as a lowering sees it. */
export interface LowerContext {
  readonly consts: ModelConstants;
  readonly k: KernelCalls;
  readonly persist: PersistentRegion;
  node(i: number): NodeProto;
  /** Input `i` of `node` as placed (throws 'unsupported' when it is not a computed tensor). */
  input(node: NodeProto, i: number): PlacedTensor;
  tensor(name: string): PlacedTensor | undefined;
  place(name: string, rank: 2 | 4, n: number, c: number, h: number, w: number): PlacedTensor;
  /** Places uint8 activation codes shaped like `like`. */
  placeCodes(name: string, like: PlacedTensor, q: QuantParams): PlacedTensor;
  /** Input `i` of `node` when it is uint8 codes (a quantized activation), else undefined. */
  codes(node: NodeProto, i: number): PlacedTensor | undefined;
  /** The nodes that read `name`, and whether it is also a graph output. */
  consumersOf(name: string): { nodes: NodeProto[]; graphOutput: boolean };
  alias(name: string, from: PlacedTensor, shape: Partial<PlacedTensor>): PlacedTensor;
  addr(t: PlacedTensor): Addr;
  emit(op: string, name: string, make: (base: number) => () => void): void;
  /** Arena bytes for one step; `freeScratch` once the step is emitted so later steps reuse them. */
  scratch(bytes: number): number;
  freeScratch(offset: number): void;
  /** The sole consumer of `name` when it may be fused away (not a graph output). */
  soleConsumer(name: string): number | undefined;
  /** Follows `name` into a fusable activation; returns the epilogue and the final output name. */
  takeAct(name: string, group: number[]): { act: Act; out: string };
  /** A residual Add that the producing GEMM can take into its epilogue (see compile.ts). */
  takeResidual(name: string, shape: TensorShape, group: number[]): { res?: PlacedTensor; out: string };
}

export interface OpLowering {
  /** The ONNX op types (default domain) this module lowers. */
  readonly ops: readonly string[];
  /** Why the engine cannot run `node`, decided without shapes; undefined when it can. */
  check(node: NodeProto, ctx: CheckContext): string | undefined;
  /** Emits the node's steps; nodes fused into them are appended to `group`. */
  lower(node: NodeProto, ctx: LowerContext, group: number[]): void;
}
