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
import { attrFloat, attrInt, attrInts } from '../onnx/attributes.ts';
import type { ModelProto, NodeProto } from '../onnx/proto.ts';
import { type Act, actOf, FUSABLE_ACTS, type ModelConstants, NO_ACT } from './constants.ts';
import type { KernelExports } from './kernels.ts';
import {
  type Addr,
  chunkRows,
  type InputSpec,
  type PendingStep,
  type PersistentRegion,
  type Plan,
  type PlacedTensor,
  packPanels,
  roundUp4,
  roundUp8,
  tensorBytes,
  windowPads,
} from './layout.ts';
import { l2NormaliseRows } from './l2-normalise.ts';
import { ArenaPlanner, alignUp } from './memory.ts';

function unsupported(node: NodeProto, why: string): never {
  throw new EdgetuneError('unsupported', `engine: ${node.opType} ${node.name ?? ''}: ${why}`);
}

export class Compiler {
  private readonly arena = new ArenaPlanner();
  private readonly tensors = new Map<string, PlacedTensor>();
  private readonly pending: PendingStep[] = [];
  private readonly consumers = new Map<string, number[]>();
  private readonly lastUse = new Map<string, number>();
  private readonly outputNames: Set<string>;
  private readonly nodes: NodeProto[];

  constructor(
    model: ModelProto,
    private readonly consts: ModelConstants,
    private readonly k: KernelExports,
    private readonly persist: PersistentRegion,
  ) {
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
            if (toNchw !== undefined) this.k.copy_rows(src + i * img, h * w, c, c * 4, d + i * out, t.cs * 4);
            else if (t.rank === 4) this.k.nchw_to_nhwc(src + i * img, c, h * w, d + i * out, t.cs);
            else this.k.copy_rows(src + i * img, 1, c, img, d + i * out, out);
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

  private place(name: string, rank: 2 | 4, n: number, c: number, h: number, w: number): PlacedTensor {
    const cs = roundUp8(c);
    const t: PlacedTensor = { rank, n, c, h, w, cs, st: { offset: 0, refs: 1 } };
    t.st.offset = this.arena.alloc(tensorBytes(t));
    this.tensors.set(name, t);
    return t;
  }

  private alias(name: string, from: PlacedTensor, shape: Partial<PlacedTensor>): PlacedTensor {
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

  private addr(t: PlacedTensor): Addr {
    const off = t.st.offset;
    return (base) => base + off;
  }

  private input(node: NodeProto, i: number): PlacedTensor {
    const name = node.input?.[i];
    const t = name ? this.tensors.get(name) : undefined;
    if (!t) unsupported(node, `input ${i} (${name}) is not a computed tensor`);
    if (t.view && node.opType !== 'Flatten' && node.opType !== 'Reshape') {
      unsupported(node, 'a Transpose output may only feed Flatten/Reshape');
    }
    return t;
  }

  private emit(op: string, name: string, make: (base: number) => () => void): void {
    this.pending.push({ op, name, make });
  }

  /** Scratch for one step: allocated and freed around it (other steps may reuse the bytes). */
  private scratch(bytes: number): number {
    const off = this.arena.alloc(bytes);
    return off;
  }

  // ---- fusion --------------------------------------------------------------------------------

  /** The sole consumer of `name` when it may be fused away (not a graph output). */
  private soleConsumer(name: string): number | undefined {
    if (this.outputNames.has(name)) return undefined;
    const list = this.consumers.get(name) ?? [];
    return list.length === 1 ? list[0] : undefined;
  }

  /** Follows `name` into a fusable activation; returns the epilogue and the final output name. */
  private takeAct(name: string, group: number[]): { act: Act; out: string } {
    const j = this.soleConsumer(name);
    if (j === undefined) return { act: NO_ACT, out: name };
    const next = this.nodes[j]!;
    if (!FUSABLE_ACTS.has(next.opType ?? '') || next.input?.[0] !== name) return { act: NO_ACT, out: name };
    const act = actOf(next, this.consts);
    if (!act) return { act: NO_ACT, out: name };
    group.push(j);
    return { act, out: next.output![0]! };
  }

  /**
   * A residual Add right after a 1×1 conv (the end of a MobileNet inverted-residual block): the
   * GEMM adds the other operand in its epilogue, so the sum takes no pass of its own. Only when
   * the Add is the next node (nothing in between may need a tensor the group releases), the other
   * operand is already computed with the same shape, and no activation follows the Add.
   */
  private takeResidual(
    name: string,
    shape: { n: number; c: number; h: number; w: number },
    group: number[],
  ): { res?: PlacedTensor; out: string } {
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
    const after = this.soleConsumer(out);
    if (after !== undefined && FUSABLE_ACTS.has(this.nodes[after]!.opType ?? '')) return { out: name };
    group.push(j);
    return { res: t, out };
  }

  /**
   * One GEMM step's fixed part for the kernel: B packed in panels, the padded bias, the epilogue,
   * and the scratch where the kernel repacks A (rows of `k` floats, at most `maxRows` per call).
   * `free()` returns the scratch once the step is emitted; later steps may reuse the bytes.
   */
  private gemmCall(k: number, maxRows: number, packed: number, n: number, bias: number, act: Act) {
    const mc = Math.min(chunkRows(k), roundUp4(maxRows));
    const pack = this.scratch(mc * k * 4);
    return {
      run: (base: number, a: number, m: number, c: number, res = 0) =>
        this.k.gemm(a, k * 4, m, k, packed, n, bias, c, n * 4, mc, act.lo, act.hi, act.hs, base + pack, res),
      free: () => this.arena.free(pack),
    };
  }

  // ---- lowering ------------------------------------------------------------------------------

  private lower(i: number, group: number[]): void {
    const node = this.nodes[i]!;
    const out = node.output?.[0] ?? '';
    switch (node.opType) {
      case 'Conv':
        this.conv(node, group);
        return;
      case 'Gemm':
      case 'MatMul':
        this.gemm(node, group);
        return;
      case 'BatchNormalization': {
        const x = this.input(node, 0);
        const { scale, shift } = this.bnScaleShift(node);
        const { act, out: y } = this.takeAct(out, group);
        this.affine(node, x, y, scale, shift, act);
        return;
      }
      case 'Relu':
      case 'Clip':
      case 'HardSwish': {
        const x = this.input(node, 0);
        const act = actOf(node, this.consts);
        if (!act) unsupported(node, 'Clip bounds must be constants');
        this.affine(node, x, out, new Float32Array(x.c).fill(1), new Float32Array(x.c), act);
        return;
      }
      case 'HardSigmoid': {
        // max(0, min(1, alpha·x + beta)): a per-tensor affine step clamped to [0, 1].
        const x = this.input(node, 0);
        const alpha = attrFloat(node, 'alpha', 0.2);
        const beta = attrFloat(node, 'beta', 0.5);
        const act = { lo: 0, hi: 1, hs: 0 };
        this.affine(node, x, out, new Float32Array(x.c).fill(alpha), new Float32Array(x.c).fill(beta), act);
        return;
      }
      case 'Sigmoid': {
        const x = this.input(node, 0);
        const y = this.place(out, x.rank, x.n, x.c, x.h, x.w);
        const a = this.addr(x);
        const b = this.addr(y);
        const n = tensorBytes(x) / 4;
        this.emit('Sigmoid', node.name ?? out, (base) => () => this.k.sigmoid(a(base), b(base), n));
        return;
      }
      case 'Add':
      case 'Mul':
      case 'Sub':
      case 'Div':
        this.binary(node, group);
        return;
      case 'GlobalAveragePool': {
        const x = this.input(node, 0);
        if (x.rank !== 4) unsupported(node, 'needs a rank-4 input');
        const y = this.place(out, 4, x.n, x.c, 1, 1);
        const a = this.addr(x);
        const b = this.addr(y);
        const img = x.h * x.w * x.cs * 4;
        this.emit('GlobalAveragePool', node.name ?? out, (base) => () => {
          for (let n = 0; n < x.n; n++)
            this.k.gap(a(base) + n * img, x.h * x.w, x.cs, b(base) + n * x.cs * 4);
        });
        return;
      }
      case 'MaxPool':
      case 'AveragePool':
        this.pool(node);
        return;
      case 'Flatten':
      case 'Reshape':
        this.flatten(node);
        return;
      case 'Transpose': {
        // The input's NHWC→NCHW transpose was taken over by the input staging.
        if (this.tensors.has(out) && attrInts(node, 'perm')?.join(',') === '0,3,1,2') return;
        const x = this.input(node, 0);
        const perm = attrInts(node, 'perm') ?? [];
        if (x.rank !== 4 || perm.join(',') !== '0,2,3,1')
          unsupported(node, 'only perm [0,2,3,1] before Flatten');
        this.alias(out, x, { view: true });
        return;
      }
      case 'Identity':
      case 'Dropout':
        this.alias(out, this.input(node, 0), {});
        return;
      case 'Softmax': {
        const x = this.input(node, 0);
        const axis = attrInt(node, 'axis', -1);
        if (x.rank !== 2 || (axis !== -1 && axis !== 1))
          unsupported(node, 'only over the last axis of [N, C]');
        const y = this.place(out, 2, x.n, x.c, 1, 1);
        const a = this.addr(x);
        const b = this.addr(y);
        this.emit(
          'Softmax',
          node.name ?? out,
          (base) => () => this.k.softmax(a(base), b(base), x.n, x.c, x.cs * 4),
        );
        return;
      }
      case 'LpNormalization': {
        const x = this.input(node, 0);
        const axis = attrInt(node, 'axis', -1);
        if (x.rank !== 2 || (axis !== -1 && axis !== 1) || attrInt(node, 'p', 2) !== 2)
          unsupported(node, 'only p = 2 over the last axis of [N, C]');
        const y = this.place(out, 2, x.n, x.c, 1, 1);
        const a = this.addr(x);
        const b = this.addr(y);
        this.emit(
          'LpNormalization',
          node.name ?? out,
          (base) => () => l2NormaliseRows(this.k.memory.buffer, a(base), b(base), x.n, x.c, x.cs),
        );
        return;
      }
      case 'Concat':
        this.concat(node);
        return;
      case 'Constant':
        return;
      default:
        unsupported(node, 'op not supported');
    }
  }

  private bnScaleShift(node: NodeProto): { scale: Float32Array; shift: Float32Array } {
    const names = (node.input ?? []).slice(1, 5);
    if (names.length !== 4 || !names.every((n) => this.consts.isFloat(n))) {
      unsupported(node, 'scale, bias, mean and var must be constants');
    }
    const [g, b, m, v] = names.map((n) => this.consts.floats(n).data) as [
      Float32Array,
      Float32Array,
      Float32Array,
      Float32Array,
    ];
    const eps = attrFloat(node, 'epsilon', 1e-5);
    const scale = new Float32Array(g.length);
    const shift = new Float32Array(g.length);
    for (let c = 0; c < g.length; c++) {
      scale[c] = g[c]! / Math.sqrt(v[c]! + eps);
      shift[c] = b[c]! - m[c]! * scale[c]!;
    }
    return { scale, shift };
  }

  /** y = act(x * scale[c] + shift[c]); scale/shift have x.c entries (padded here). */
  private affine(
    node: NodeProto,
    x: PlacedTensor,
    out: string,
    scale: Float32Array,
    shift: Float32Array,
    act: Act,
  ) {
    const key = `affine:${node.name}:${node.output?.[0]}`;
    const pad = (v: Float32Array) => {
      const p = new Float32Array(x.cs);
      p.set(v.subarray(0, x.c));
      return p;
    };
    const s = this.persist.put(`${key}:scale`, () => pad(scale));
    const b = this.persist.put(`${key}:shift`, () => pad(shift));
    const y = this.place(out, x.rank, x.n, x.c, x.h, x.w);
    const a = this.addr(x);
    const o = this.addr(y);
    const npix = x.n * x.h * x.w;
    this.emit(
      node.opType ?? 'Affine',
      node.name ?? out,
      (base) => () => this.k.affine_c(a(base), s, b, o(base), npix, x.cs, act.lo, act.hi, act.hs),
    );
  }

  private conv(node: NodeProto, group: number[]): void {
    const x = this.input(node, 0);
    if (x.rank !== 4) unsupported(node, 'needs a rank-4 input');
    const wName = node.input?.[1];
    if (!this.consts.isFloat(wName)) unsupported(node, 'weights must be a constant');
    const wt = this.consts.floats(wName!);
    const [cout, cing, kh, kw] = wt.dims as [number, number, number, number];
    if (wt.dims.length !== 4) unsupported(node, 'only 2-D convolutions');
    const groups = attrInt(node, 'group', 1);
    if (cing * groups !== x.c)
      unsupported(node, `weights expect ${cing * groups} input channels, got ${x.c}`);
    const [sh, sw] = (attrInts(node, 'strides') ?? [1, 1]) as [number, number];
    const [dh, dw] = (attrInts(node, 'dilations') ?? [1, 1]) as [number, number];
    const [pt, pl, pb, pr] = windowPads(node, x.h, x.w, [kh, kw], [sh, sw], [dh, dw]);
    const oh = Math.floor((x.h + pt + pb - dh * (kh - 1) - 1) / sh) + 1;
    const ow = Math.floor((x.w + pl + pr - dw * (kw - 1) - 1) / sw) + 1;

    // BatchNormalization right after the conv folds into its weights and bias.
    let outName = node.output![0]!;
    let weights = wt.data;
    const biasName = node.input?.[2];
    let bias = biasName ? Float32Array.from(this.consts.floats(biasName).data) : new Float32Array(cout);
    const next = this.soleConsumer(outName);
    const bn = next !== undefined ? this.nodes[next]! : undefined;
    if (bn?.opType === 'BatchNormalization' && bn.input?.[0] === outName) {
      const { scale, shift } = this.bnScaleShift(bn);
      const per = cing * kh * kw;
      weights = Float32Array.from(weights, (v, i) => v * scale[Math.floor(i / per)]!);
      bias = Float32Array.from(bias, (v, c) => v * scale[c]! + shift[c]!);
      group.push(next!);
      outName = bn.output![0]!;
    }
    const { act, out: actOut } = this.takeAct(outName, group);
    const pointwise = kh === 1 && kw === 1 && sh === 1 && sw === 1 && pt + pl + pb + pr === 0 && groups === 1;
    const { res, out } = pointwise
      ? this.takeResidual(actOut, { n: x.n, c: cout, h: oh, w: ow }, group)
      : { res: undefined, out: actOut };
    const y = this.place(out, 4, x.n, cout, oh, ow);
    const key = `conv:${node.name}:${node.output?.[0]}`;
    const biasPad = this.persist.put(`${key}:bias`, () => {
      const p = new Float32Array(y.cs);
      p.set(bias);
      return p;
    });
    const a = this.addr(x);
    const o = this.addr(y);
    const name = node.name ?? out;
    const imgIn = x.h * x.w * x.cs * 4;
    const imgOut = oh * ow * y.cs * 4;

    const r = res ? this.addr(res) : undefined;
    const depthwise =
      groups === x.c &&
      cout === x.c &&
      cing === 1 &&
      kh === 3 &&
      kw === 3 &&
      dh === 1 &&
      dw === 1 &&
      sh === sw;
    if (pointwise) {
      const packed = this.persist.put(`${key}:gemm`, () =>
        packPanels(weights, cout, x.c, x.cs, y.cs, (co, k) => co * x.c + k),
      );
      const m = x.n * x.h * x.w;
      const gemm = this.gemmCall(x.cs, m, packed, y.cs, biasPad, act);
      this.emit('Conv1x1', name, (base) => () => gemm.run(base, a(base), m, o(base), r ? r(base) : 0));
      gemm.free();
      return;
    }
    if (depthwise) {
      const packed = this.persist.put(`${key}:dw`, () => {
        const p = new Float32Array(9 * x.cs);
        // [c/4][9][4]: one channel group's taps contiguous (immediate offsets in the kernel)
        for (let c = 0; c < cout; c++) {
          for (let t = 0; t < 9; t++) p[(Math.floor(c / 4) * 9 + t) * 4 + (c % 4)] = weights[c * 9 + t]!;
        }
        return p;
      });
      const zero = this.persist.put(`zero:${x.w * x.cs}`, () => new Float32Array(x.w * x.cs));
      this.emit('ConvDepthwise', name, (base) => () => {
        for (let n = 0; n < x.n; n++) {
          this.k.dw3x3(
            a(base) + n * imgIn,
            x.h,
            x.w,
            x.cs,
            o(base) + n * imgOut,
            oh,
            ow,
            sh,
            pt,
            pl,
            packed,
            biasPad,
            act.lo,
            act.hi,
            act.hs,
            zero,
          );
        }
      });
      return;
    }
    if (groups === 1) {
      // im2col in row chunks + the same GEMM; K keeps only the real input channels.
      const kk = kh * kw * x.c;
      const packed = this.persist.put(`${key}:gemm`, () =>
        packPanels(weights, cout, kk, kk, y.cs, (co, k) => {
          const tap = Math.floor(k / x.c);
          const ci = k % x.c;
          return ((co * x.c + ci) * kh + Math.floor(tap / kw)) * kw + (tap % kw);
        }),
      );
      const p = oh * ow;
      const rows = Math.max(4, Math.min(p, Math.floor(65536 / (kk * 4)) & ~3));
      // +16: im2col's 4-lane copies for inputs of under 4 channels run past the last row.
      const col = this.scratch(rows * kk * 4 + 16);
      const gemm = this.gemmCall(kk, rows, packed, y.cs, biasPad, act);
      this.emit('Conv', name, (base) => () => {
        const colAt = base + col;
        for (let n = 0; n < x.n; n++) {
          const src = a(base) + n * imgIn;
          const dst = o(base) + n * imgOut;
          for (let p0 = 0; p0 < p; p0 += rows) {
            const r = Math.min(rows, p - p0);
            this.k.im2col(src, x.h, x.w, x.cs, 0, x.c, kh, kw, sh, sw, pt, pl, dh, dw, ow, p0, r, colAt);
            gemm.run(base, colAt, r, dst + p0 * y.cs * 4);
          }
        }
      });
      this.arena.free(col);
      gemm.free();
      return;
    }
    const raw = this.persist.put(`${key}:direct`, () => weights);
    this.emit('ConvGrouped', name, (base) => () => {
      for (let n = 0; n < x.n; n++) {
        this.k.conv_direct(
          a(base) + n * imgIn,
          x.h,
          x.w,
          x.cs,
          o(base) + n * imgOut,
          oh,
          ow,
          y.cs,
          kh,
          kw,
          sh,
          sw,
          pt,
          pl,
          dh,
          dw,
          cing,
          cout / groups,
          cout,
          raw,
          biasPad,
          act.lo,
          act.hi,
          act.hs,
        );
      }
    });
  }

  private gemm(node: NodeProto, group: number[]): void {
    const x = this.input(node, 0);
    if (x.rank !== 2) unsupported(node, 'A must be a [N, K] tensor');
    const bName = node.input?.[1];
    if (!this.consts.isFloat(bName)) unsupported(node, 'B must be a constant');
    const b = this.consts.floats(bName!);
    if (b.dims.length !== 2) unsupported(node, 'B must be 2-D');
    const isGemm = node.opType === 'Gemm';
    if (isGemm && attrInt(node, 'transA', 0) !== 0) unsupported(node, 'transA is not supported');
    const transB = isGemm && attrInt(node, 'transB', 0) === 1;
    const alpha = isGemm ? attrFloat(node, 'alpha', 1) : 1;
    const beta = isGemm ? attrFloat(node, 'beta', 1) : 1;
    const [r0, r1] = b.dims as [number, number];
    const kdim = transB ? r1 : r0;
    const nout = transB ? r0 : r1;
    if (kdim !== x.c) unsupported(node, `B expects K=${kdim}, input has ${x.c}`);
    let bias = new Float32Array(nout);
    const cName = isGemm ? node.input?.[2] : undefined;
    if (cName) {
      if (!this.consts.isFloat(cName)) unsupported(node, 'C must be a constant');
      const c = this.consts.floats(cName);
      const count = c.data.length;
      if (count !== 1 && count !== nout) unsupported(node, 'C must broadcast along the output columns');
      bias = Float32Array.from({ length: nout }, (_, j) => beta * c.data[count === 1 ? 0 : j]!);
    }
    const { act, out } = this.takeAct(node.output![0]!, group);
    const y = this.place(out, 2, x.n, nout, 1, 1);
    const key = `gemm:${node.name}:${node.output?.[0]}`;
    const packed = this.persist.put(`${key}:b`, () =>
      packPanels(b.data, nout, kdim, x.cs, y.cs, (j, k) => (transB ? j * kdim + k : k * nout + j), alpha),
    );
    const biasPad = this.persist.put(`${key}:bias`, () => {
      const p = new Float32Array(y.cs);
      p.set(bias);
      return p;
    });
    const a = this.addr(x);
    const o = this.addr(y);
    const gemm = this.gemmCall(x.cs, x.n, packed, y.cs, biasPad, act);
    this.emit('Gemm', node.name ?? out, (base) => () => gemm.run(base, a(base), x.n, o(base)));
    gemm.free();
  }

  /** A constant operand as one value per channel of x (it must be a scalar or per-channel). */
  private channelVector(node: NodeProto, x: PlacedTensor, name: string): Float32Array {
    const k = this.consts.floats(name);
    const dims = k.dims.slice();
    while (dims.length < x.rank) dims.unshift(1);
    const perChannel = dims.every((d, i) => d === 1 || i === 1) && dims.length === x.rank;
    if (!perChannel) unsupported(node, 'a constant operand must be a scalar or per-channel');
    return new Float32Array(x.c).map((_, c) => k.data[k.data.length === 1 ? 0 : c]!);
  }

  private binary(node: NodeProto, group: number[]): void {
    const [n0, n1] = node.input ?? [];
    const c0 = this.consts.has(n0);
    const c1 = this.consts.has(n1);
    if (node.opType === 'Div') {
      // Only x / constant, which is x · (1 / constant).
      if (c0 || !c1) unsupported(node, 'the divisor must be a constant');
      const x = this.input(node, 0);
      const vec = this.channelVector(node, x, n1!).map((v) => 1 / v);
      const { act, out } = this.takeAct(node.output![0]!, group);
      this.affine(node, x, out, vec, new Float32Array(x.c), act);
      return;
    }
    const op = node.opType === 'Add' ? 0 : node.opType === 'Mul' ? 1 : 2;
    if (c0 && c1) unsupported(node, 'constant folding is not supported');
    if (!c0 && !c1) {
      const a = this.input(node, 0);
      const b = this.input(node, 1);
      const same = a.rank === b.rank && a.n === b.n && a.c === b.c && a.h === b.h && a.w === b.w;
      if (same) {
        const { act, out } = this.takeAct(node.output![0]!, group);
        const y = this.place(out, a.rank, a.n, a.c, a.h, a.w);
        const pa = this.addr(a);
        const pb = this.addr(b);
        const po = this.addr(y);
        const n = tensorBytes(a) / 4;
        this.emit(
          node.opType!,
          node.name ?? out,
          (base) => () => this.k.binary(op, pa(base), pb(base), po(base), n, act.lo, act.hi, act.hs),
        );
        return;
      }
      // Per-channel dynamic broadcast ([N,C,1,1] against [N,C,H,W]), e.g. squeeze-and-excitation.
      const [big, vec] = a.h * a.w >= b.h * b.w ? [a, b] : [b, a];
      if (op === 2 || vec.h * vec.w !== 1 || vec.c !== big.c || vec.n !== big.n || big.rank !== 4) {
        unsupported(node, 'operands must have the same shape or broadcast per channel');
      }
      const { act, out } = this.takeAct(node.output![0]!, group);
      const y = this.place(out, 4, big.n, big.c, big.h, big.w);
      const ones = this.persist.put(`ones:${big.cs}`, () => new Float32Array(big.cs).fill(1));
      const zeros = this.persist.put(`zeros:${big.cs}`, () => new Float32Array(big.cs));
      const pBig = this.addr(big);
      const pVec = this.addr(vec);
      const po = this.addr(y);
      const img = big.h * big.w * big.cs * 4;
      this.emit(node.opType!, node.name ?? out, (base) => () => {
        for (let n = 0; n < big.n; n++) {
          const v = pVec(base) + n * vec.cs * 4;
          this.k.affine_c(
            pBig(base) + n * img,
            op === 1 ? v : ones,
            op === 1 ? zeros : v,
            po(base) + n * img,
            big.h * big.w,
            big.cs,
            act.lo,
            act.hi,
            act.hs,
          );
        }
      });
      return;
    }
    // One constant operand: it must broadcast per channel (or be a scalar).
    const x = this.input(node, c0 ? 1 : 0);
    const vec = this.channelVector(node, x, (c0 ? n0 : n1)!);
    const { act, out } = this.takeAct(node.output![0]!, group);
    if (op === 0) this.affine(node, x, out, new Float32Array(x.c).fill(1), vec, act);
    else if (op === 1) this.affine(node, x, out, vec, new Float32Array(x.c), act);
    else if (!c0)
      this.affine(
        node,
        x,
        out,
        new Float32Array(x.c).fill(1),
        vec.map((v) => -v),
        act,
      );
    else this.affine(node, x, out, new Float32Array(x.c).fill(-1), vec, act);
  }

  private pool(node: NodeProto): void {
    const x = this.input(node, 0);
    if (x.rank !== 4) unsupported(node, 'needs a rank-4 input');
    const [kh, kw] = (attrInts(node, 'kernel_shape') ?? []) as [number, number];
    const [sh, sw] = (attrInts(node, 'strides') ?? [1, 1]) as [number, number];
    const dil = attrInts(node, 'dilations') ?? [1, 1];
    if (dil.some((d) => d !== 1)) unsupported(node, 'dilations are not supported');
    const ceil = attrInt(node, 'ceil_mode', 0) === 1;
    const isMax = node.opType === 'MaxPool';
    if (ceil && !isMax) unsupported(node, 'ceil_mode is not supported for AveragePool');
    if (isMax && (node.output?.length ?? 1) > 1 && node.output?.[1]) unsupported(node, 'Indices output');
    const [pt, pl, pb, pr] = windowPads(node, x.h, x.w, [kh, kw], [sh, sw], [1, 1]);
    const size = (len: number, p0: number, p1: number, k: number, s: number) => {
      const span = len + p0 + p1 - k;
      let o = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
      if (ceil && (o - 1) * s >= len + p0) o--;
      return o;
    };
    const oh = size(x.h, pt, pb, kh, sh);
    const ow = size(x.w, pl, pr, kw, sw);
    const mode = isMax ? 0 : attrInt(node, 'count_include_pad', 0) === 1 ? 2 : 1;
    const out = node.output![0]!;
    const y = this.place(out, 4, x.n, x.c, oh, ow);
    const a = this.addr(x);
    const o = this.addr(y);
    const imgIn = x.h * x.w * x.cs * 4;
    const imgOut = oh * ow * y.cs * 4;
    this.emit(node.opType!, node.name ?? out, (base) => () => {
      for (let n = 0; n < x.n; n++) {
        this.k.pool(
          a(base) + n * imgIn,
          x.h,
          x.w,
          x.cs,
          o(base) + n * imgOut,
          oh,
          ow,
          kh,
          kw,
          sh,
          sw,
          pt,
          pl,
          mode,
        );
      }
    });
  }

  /** Flatten(axis 1) or Reshape to [N, -1]: free when spatial size is 1, else a reorder copy. */
  private flatten(node: NodeProto): void {
    const x = this.input(node, 0);
    const out = node.output![0]!;
    if (node.opType === 'Flatten' && attrInt(node, 'axis', 1) !== 1) unsupported(node, 'only axis 1');
    if (node.opType === 'Reshape') {
      const shapeName = node.input?.[1];
      if (!this.consts.has(shapeName)) unsupported(node, 'shape must be a constant');
      const shape = this.consts.ints(shapeName!);
      const total = x.c * x.h * x.w;
      const ok =
        shape.length === 2 &&
        (shape[0] === x.n || shape[0] === 0 || shape[0] === -1) &&
        (shape[1] === total || shape[1] === -1);
      if (!ok) unsupported(node, `only [N, -1] reshapes, got [${shape.join(',')}]`);
    }
    const features = x.c * x.h * x.w;
    if (x.rank === 2 || (x.h === 1 && x.w === 1)) {
      this.alias(out, x, { rank: 2, c: features, h: 1, w: 1, view: false });
      return;
    }
    const y = this.place(out, 2, x.n, features, 1, 1);
    const a = this.addr(x);
    const o = this.addr(y);
    const hw = x.h * x.w;
    const imgIn = hw * x.cs * 4;
    const imgOut = y.cs * 4;
    const nhwcOrder = x.view === true;
    this.emit(nhwcOrder ? 'Transpose+Flatten' : 'Flatten', node.name ?? out, (base) => () => {
      for (let n = 0; n < x.n; n++) {
        if (nhwcOrder)
          this.k.copy_rows(a(base) + n * imgIn, hw, x.c, x.cs * 4, o(base) + n * imgOut, x.c * 4);
        else this.k.nhwc_to_nchw(a(base) + n * imgIn, x.c, hw, x.cs, o(base) + n * imgOut);
      }
    });
  }

  private concat(node: NodeProto): void {
    const parts = (node.input ?? []).map((_, i) => this.input(node, i));
    const first = parts[0]!;
    const axis = attrInt(node, 'axis', 1);
    const rank = first.rank;
    if (axis !== 1 && axis !== 1 - rank) unsupported(node, 'only along the channel axis');
    if (parts.some((p) => p.rank !== rank || p.n !== first.n || p.h !== first.h || p.w !== first.w)) {
      unsupported(node, 'inputs differ outside the channel axis');
    }
    const c = parts.reduce((s, p) => s + p.c, 0);
    const out = node.output![0]!;
    const y = this.place(out, rank, first.n, c, first.h, first.w);
    const o = this.addr(y);
    const rows = first.n * first.h * first.w;
    const copies = parts.map((p, i) => ({
      a: this.addr(p),
      p,
      off: parts.slice(0, i).reduce((s, q) => s + q.c, 0) * 4,
    }));
    this.emit('Concat', node.name ?? out, (base) => () => {
      for (const { a, p, off } of copies)
        this.k.copy_rows(a(base), rows, p.c, p.cs * 4, o(base) + off, y.cs * 4);
    });
  }
}
