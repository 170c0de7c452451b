/**
 * Lowers an ONNX CNN graph to a fixed list of kernel calls for one batch size.
 *
 * Layout: every activation is NHWC (rank 4) or [N][C] (rank 2) with the channel stride `cs`
 * padded to a multiple of 8 floats. Conv weights are repacked once per model into the layouts the
 * kernels read (8-column GEMM panels, [9][cs] depthwise taps) with BatchNormalization folded in;
 * a following Relu/Clip/HardSwish becomes the kernel's epilogue. Activations live in one arena whose
 * layout comes from tensor lifetimes (first fit), so a request allocates nothing.
 */
import { EdgetuneError } from '../errors.ts';
import { attrInts } from '../onnx/attributes.ts';
import type { ModelProto, NodeProto } from '../onnx/proto.ts';
import { type Act, actOf, FUSABLE_ACTS, type ModelConstants, NO_ACT } from './constants.ts';
import { KernelCalls, type QuantParams } from './kernel-calls.ts';
import type { KernelExports } from './kernels.ts';
import {
  type Addr,
  type InputSpec,
  type PendingStep,
  type PersistentRegion,
  type Plan,
  type PlacedTensor,
  roundUp8,
  tensorBytes,
} from './layout.ts';
import { type LowerContext, type TensorShape, unsupported } from './lowering.ts';
import { ArenaPlanner, alignUp } from './memory.ts';
import { loweringFor } from './ops/table.ts';

export class Compiler implements LowerContext {
  private readonly arena = new ArenaPlanner();
  private readonly tensors = new Map<string, PlacedTensor>();
  private readonly pending: PendingStep[] = [];
  private readonly consumers = new Map<string, number[]>();
  private readonly lastUse = new Map<string, number>();
  private readonly outputNames: Set<string>;
  private readonly nodes: NodeProto[];
  readonly k: KernelCalls;

  constructor(
    model: ModelProto,
    readonly consts: ModelConstants,
    kernels: KernelExports,
    readonly persist: PersistentRegion,
  ) {
    this.k = new KernelCalls(kernels);
    this.nodes = model.graph?.node ?? [];
    this.outputNames = new Set((model.graph?.output ?? []).map((o) => o.name ?? ''));
    this.nodes.forEach((node, i) => {
      for (const name of node.input ?? []) {
        if (!name) continue;
        const list = this.consumers.get(name) ?? [];
        list.push(i);
        this.consumers.set(name, list);
        this.lastUse.set(name, i);
      }
    });
  }

  compile(inputs: InputSpec[]): Plan {
    const planInputs = new Map<string, { tensor: PlacedTensor; staging: number }>();
    let batch = 1;
    for (const spec of inputs) {
      if (spec.dims.length !== 4 && spec.dims.length !== 2) {
        throw new EdgetuneError('unsupported', `engine: input ${spec.name} must be rank 2 or 4`);
      }
      // An NHWC input that is transposed to NCHW right away is already in the engine's own
      // layout: it is staged as it comes and stands for the Transpose's output.
      const toNchw = this.inputTranspose(spec.name);
      const [n, c, h, w] =
        spec.dims.length === 2
          ? [spec.dims[0]!, spec.dims[1]!, 1, 1]
          : toNchw !== undefined
            ? [spec.dims[0]!, spec.dims[3]!, spec.dims[1]!, spec.dims[2]!]
            : (spec.dims as [number, number, number, number]);
      batch = n;
      const placedAs = toNchw === undefined ? spec.name : this.nodes[toNchw]!.output![0]!;
      const t = this.place(placedAs, spec.dims.length as 2 | 4, n, c, h, w);
      const staging = this.arena.alloc(n * c * h * w * 4);
      planInputs.set(spec.name, { tensor: t, staging });
      const dst = this.addr(t);
      this.emit('Input', spec.name, (base) => {
        const src = base + staging;
        const d = dst(base);
        const img = c * h * w * 4;
        const out = h * w * t.cs * 4;
        return () => {
          for (let i = 0; i < n; i++) {
            if (toNchw !== undefined)
              this.k.raw.copy_rows(src + i * img, h * w, c, c * 4, d + i * out, t.cs * 4);
            else if (t.rank === 4) this.k.raw.nchw_to_nhwc(src + i * img, c, h * w, d + i * out, t.cs);
            else this.k.raw.copy_rows(src + i * img, 1, c, img, d + i * out, out);
          }
        };
      });
      this.arena.free(staging);
    }
    const skip = new Set<number>();
    for (let i = 0; i < this.nodes.length; i++) {
      if (skip.has(i)) continue;
      const group = [i];
      this.lower(i, group);
      for (const j of group) skip.add(j);
      const end = Math.max(...group);
      for (const j of group) {
        for (const name of this.nodes[j]!.input ?? []) {
          if (name && (this.lastUse.get(name) ?? -1) <= end) this.release(name);
        }
      }
    }
    const outputs = new Map<string, PlacedTensor>();
    for (const name of this.outputNames) {
      const t = this.tensors.get(name);
      if (!t) throw new EdgetuneError('unsupported', `engine: output ${name} is not computed by the graph`);
      outputs.set(name, t);
    }
    const base = alignUp(this.persist.end);
    const steps = this.pending.map((p) => ({ op: p.op, name: p.name, run: p.make(base) }));
    return { batch, base, arenaBytes: this.arena.peak, steps, inputs: planInputs, outputs };
  }

  /** The node index of a Transpose [0,3,1,2] that is the sole consumer of graph input `name`. */
  private inputTranspose(name: string): number | undefined {
    const users = this.consumers.get(name) ?? [];
    const node = users.length === 1 ? this.nodes[users[0]!] : undefined;
    const perm = node?.opType === 'Transpose' ? (attrInts(node, 'perm') ?? []).join(',') : '';
    return perm === '0,3,1,2' && !this.outputNames.has(name) ? users[0] : undefined;
  }

  // ---- tensors -------------------------------------------------------------------------------

  place(name: string, rank: 2 | 4, n: number, c: number, h: number, w: number): PlacedTensor {
    const cs = roundUp8(c);
    const t: PlacedTensor = { rank, n, c, h, w, cs, st: { offset: 0, refs: 1 } };
    t.st.offset = this.arena.alloc(tensorBytes(t));
    this.tensors.set(name, t);
    return t;
  }

  /** Places uint8 activation codes shaped like `like` (one byte per element, same channel stride). */
  placeCodes(name: string, like: PlacedTensor, q: QuantParams): PlacedTensor {
    const t: PlacedTensor = {
      rank: like.rank,
      n: like.n,
      c: like.c,
      h: like.h,
      w: like.w,
      cs: like.cs,
      q,
      st: { offset: 0, refs: 1 },
    };
    t.st.offset = this.arena.alloc(tensorBytes(t));
    this.tensors.set(name, t);
    return t;
  }

  alias(name: string, from: PlacedTensor, shape: Partial<PlacedTensor>): PlacedTensor {
    from.st.refs++;
    const t: PlacedTensor = { ...from, ...shape, st: from.st };
    this.tensors.set(name, t);
    return t;
  }

  private release(name: string): void {
    const t = this.tensors.get(name);
    if (!t || this.outputNames.has(name)) return;
    this.tensors.delete(name);
    if (--t.st.refs === 0) this.arena.free(t.st.offset);
  }

  addr(t: PlacedTensor): Addr {
    const off = t.st.offset;
    return (base) => base + off;
  }

  input(node: NodeProto, i: number): PlacedTensor {
    const name = node.input?.[i];
    const t = name ? this.tensors.get(name) : undefined;
    if (!t) unsupported(node, `input ${i} (${name}) is not a computed tensor`);
    if (t.q) unsupported(node, `input ${i} (${name}) is int8 codes, which only int8 kernels read`);
    if (t.view && node.opType !== 'Flatten' && node.opType !== 'Reshape') {
      unsupported(node, 'a Transpose output may only feed Flatten/Reshape');
    }
    return t;
  }

  codes(node: NodeProto, i: number): PlacedTensor | undefined {
    const name = node.input?.[i];
    const t = name ? this.tensors.get(name) : undefined;
    return t?.q ? t : undefined;
  }

  consumersOf(name: string): { nodes: NodeProto[]; graphOutput: boolean } {
    return {
      nodes: (this.consumers.get(name) ?? []).map((i) => this.nodes[i]!),
      graphOutput: this.outputNames.has(name),
    };
  }

  emit(op: string, name: string, make: (base: number) => () => void): void {
    this.pending.push({ op, name, make });
  }

  /** Scratch for one step: allocated and freed around it (other steps may reuse the bytes). */
  scratch(bytes: number): number {
    return this.arena.alloc(bytes);
  }

  freeScratch(offset: number): void {
    this.arena.free(offset);
  }

  node(i: number): NodeProto {
    return this.nodes[i]!;
  }

  tensor(name: string): PlacedTensor | undefined {
    return this.tensors.get(name);
  }

  // ---- fusion --------------------------------------------------------------------------------

  /** The sole consumer of `name` when it may be fused away (not a graph output). */
  soleConsumer(name: string): number | undefined {
    if (this.outputNames.has(name)) return undefined;
    const list = this.consumers.get(name) ?? [];
    return list.length === 1 ? list[0] : undefined;
  }

  /** Follows `name` into a fusable activation; returns the epilogue and the final output name. */
  takeAct(name: string, group: number[]): { act: Act; out: string } {
    const j = this.soleConsumer(name);
    if (j === undefined) return { act: NO_ACT, out: name };
    const next = this.nodes[j]!;
    if (!FUSABLE_ACTS.has(next.opType ?? '') || next.input?.[0] !== name) return { act: NO_ACT, out: name };
    // A Clip that only feeds a QuantizeLinear (QDQ saturation) belongs to the quantization pass:
    // there its bound also tells the int8 kernels that the codes are 7-bit.
    if (next.opType === 'Clip' && this.feedsQuantize(next)) return { act: NO_ACT, out: name };
    const act = actOf(next, this.consts);
    if (!act) return { act: NO_ACT, out: name };
    group.push(j);
    return { act, out: next.output![0]! };
  }

  /** Whether `node`'s output is read only by a QuantizeLinear. */
  private feedsQuantize(node: NodeProto): boolean {
    const q = this.soleConsumer(node.output?.[0] ?? '');
    return q !== undefined && this.nodes[q]!.opType === 'QuantizeLinear';
  }

  /**
   * A residual Add right after a 1×1 conv (the end of a MobileNet inverted-residual block): the
   * GEMM adds the other operand in its epilogue, so the sum takes no pass of its own. Only when
   * the Add is the next node (nothing in between may need a tensor the group releases), the other
   * operand is already computed with the same shape, and no activation follows the Add.
   */
  takeResidual(name: string, shape: TensorShape, group: number[]): { res?: PlacedTensor; out: string } {
    const j = this.soleConsumer(name);
    if (j === undefined || j !== Math.max(...group) + 1) return { out: name };
    const add = this.nodes[j]!;
    const [i0, i1] = add.input ?? [];
    if (add.opType !== 'Add' || (add.input?.length ?? 0) !== 2) return { out: name };
    const other = i0 === name ? i1 : i1 === name ? i0 : undefined;
    const t = other && other !== name ? this.tensors.get(other) : undefined;
    const same = t?.rank === 4 && t.n === shape.n && t.c === shape.c && t.h === shape.h && t.w === shape.w;
    if (!t || !same) return { out: name };
    const out = add.output![0]!;
    // (an activation after the Add cannot join the epilogue, which adds last; a QDQ saturation
    // Clip can: the requantization after the sum applies it)
    const after = this.soleConsumer(out);
    const next = after !== undefined ? this.nodes[after]! : undefined;
    const qdqClip = next?.opType === 'Clip' && this.feedsQuantize(next);
    if (next && FUSABLE_ACTS.has(next.opType ?? '') && !qdqClip) return { out: name };
    group.push(j);
    return { res: t, out };
  }

  // ---- lowering ------------------------------------------------------------------------------

  private lower(i: number, group: number[]): void {
    const node = this.nodes[i]!;
    const lowering = node.domain && node.domain !== 'ai.onnx' ? undefined : loweringFor(node.opType ?? '');
    if (!lowering) unsupported(node, 'op not supported');
    lowering.lower(node, this, group);
  }
}
