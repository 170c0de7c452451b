/**
 * Gemm and MatMul with a constant B: B is packed once into 8-column panels (alpha folded in),
 * beta·C becomes the bias and a following activation the epilogue. With int8 codes as A and an
 * int8 B (a QDQ graph) the same is done by the qgemm kernel. `gemmCall` is the same GEMM
 * as the conv strategies use it.
 */
import { attrFloat, attrInt } from '../../onnx/attributes.ts';
import type { NodeProto } from '../../onnx/proto.ts';
import type { Act } from '../constants.ts';
import { chunkRows, packPanels, putQPanels, qchunkRows, qpackBytes, roundUp4 } from '../layout.ts';
import { type LowerContext, type OpLowering, unsupported } from '../lowering.ts';
import { takeRequant } from './qdq.ts';

export interface GemmCall {
  /** C (m rows at `c`) = act(A (m rows of k floats at `a`) · B + bias) [+ res]. */
  run(base: number, a: number, m: number, c: number, res?: number): void;
  /** Returns the repacking scratch once the step is emitted. */
  free(): void;
}

/**
 * One GEMM step's fixed part: B packed at `packed` (n padded columns), the padded bias, the
 * epilogue, and the scratch where the kernel repacks A (at most `maxRows` rows per call).
 */
export function gemmCall(
  ctx: LowerContext,
  k: number,
  maxRows: number,
  packed: number,
  n: number,
  bias: number,
  act: Act,
): GemmCall {
  const mc = Math.min(chunkRows(k), roundUp4(maxRows));
  const pack = ctx.scratch(mc * k * 4);
  return {
    run: (base, a, m, c, res = 0) =>
      ctx.k.gemm({ a, lda: k * 4, m, k, b: packed, n, bias, c, ldc: n * 4, mc, pack: base + pack, act, res }),
    free: () => ctx.freeScratch(pack),
  };
}

/** The bias padded to the output's channel stride, stored once per model. */
export function paddedBias(ctx: LowerContext, key: string, bias: Float32Array, cs: number): number {
  return ctx.persist.put(`${key}:bias`, () => {
    const p = new Float32Array(cs);
    p.set(bias);
    return p;
  });
}

function lowerGemm(node: NodeProto, ctx: LowerContext, group: number[]): void {
  // Codes from a QuantizeLinear only reach a Gemm/MatMul whose B is int8 (qdq.ts decides that).
  const codes = ctx.codes(node, 0);
  const x = codes ?? ctx.input(node, 0);
  if (x.rank !== 2) unsupported(node, 'A must be a [N, K] tensor');
  const bName = node.input?.[1];
  if (!ctx.consts.isFloat(bName)) unsupported(node, 'B must be a constant');
  const bq = codes ? ctx.consts.quantized(bName) : undefined;
  if (codes && !bq) unsupported(node, 'int8 input needs int8 B');
  const bDims = bq ? bq.dims : ctx.consts.floats(bName!).dims;
  if (bDims.length !== 2) unsupported(node, 'B must be 2-D');
  const isGemm = node.opType === 'Gemm';
  if (isGemm && attrInt(node, 'transA', 0) !== 0) unsupported(node, 'transA is not supported');
  const transB = isGemm && attrInt(node, 'transB', 0) === 1;
  const alpha = isGemm ? attrFloat(node, 'alpha', 1) : 1;
  const beta = isGemm ? attrFloat(node, 'beta', 1) : 1;
  const [r0, r1] = bDims as [number, number];
  const kdim = transB ? r1 : r0;
  const nout = transB ? r0 : r1;
  if (kdim !== x.c) unsupported(node, `B expects K=${kdim}, input has ${x.c}`);
  let bias = new Float32Array(nout);
  const cName = isGemm ? node.input?.[2] : undefined;
  if (cName) {
    if (!ctx.consts.isFloat(cName)) unsupported(node, 'C must be a constant');
    const c = ctx.consts.floats(cName);
    const count = c.data.length;
    if (count !== 1 && count !== nout) unsupported(node, 'C must broadcast along the output columns');
    bias = Float32Array.from({ length: nout }, (_, j) => beta * c.data[count === 1 ? 0 : j]!);
  }
  const { act, out } = ctx.takeAct(node.output![0]!, group);
  // An int8 Gemm whose output is quantized again right after writes the codes in its epilogue.
  const requant = bq ? takeRequant(ctx, out, { rank: 2, n: x.n, c: nout, h: 1, w: 1 }, group) : undefined;
  const float = !requant || requant.keepFloat;
  const y = float ? ctx.place(out, 2, x.n, nout, 1, 1) : requant.codes;
  const key = `gemm:${node.name}:${node.output?.[0]}`;
  const biasPad = paddedBias(ctx, key, bias, y.cs);
  const a = ctx.addr(x);
  const o = ctx.addr(y);
  const qa = requant ? ctx.addr(requant.codes) : undefined;
  const index = (j: number, k: number) => (transB ? j * kdim + k : k * nout + j);
  if (bq) {
    // y = (Σ codes_a · codes_b - zp · Σ codes_b) · alpha · scale_a · scale_b[j] + beta · C[j]
    const q = codes!.q!;
    const { b, zc } = putQPanels(
      ctx,
      key,
      { codes: () => bq.codes, n: nout, k: kdim, kq: x.cs, ns: y.cs, zp: q.zp },
      index,
    );
    const scale = ctx.persist.put(`${key}:qscale`, () => {
      const p = new Float32Array(y.cs);
      for (let j = 0; j < nout; j++) p[j] = alpha * q.scale * bq.scales[bq.scales.length === 1 ? 0 : j]!;
      return p;
    });
    const mc = qchunkRows(x.cs, x.n);
    const pack = ctx.scratch(qpackBytes(mc, x.cs));
    ctx.emit(
      'QGemm',
      node.name ?? out,
      (base) => () =>
        ctx.k.qgemm({
          mc,
          pack: base + pack,
          a: a(base),
          lda: x.cs,
          m: x.n,
          kq: x.cs,
          b,
          n: y.cs,
          zc,
          scale,
          bias: biasPad,
          c: float ? o(base) : -1,
          ldc: y.cs * 4,
          act,
          res: 0,
          codes: requant && {
            at: qa!(base),
            ld: y.cs,
            q: requant.codes.q!,
            lo: requant.lo,
            hi: requant.hi,
          },
        }),
    );
    ctx.freeScratch(pack);
    return;
  }
  const bData = ctx.consts.floats(bName!).data;
  const packed = ctx.persist.put(`${key}:b`, () => packPanels(bData, nout, kdim, x.cs, y.cs, index, alpha));
  const gemm = gemmCall(ctx, x.cs, x.n, packed, y.cs, biasPad, act);
  ctx.emit('Gemm', node.name ?? out, (base) => () => gemm.run(base, a(base), x.n, o(base)));
  gemm.free();
}

export const gemmLowering: OpLowering = {
  ops: ['Gemm', 'MatMul'],
  check(node, { consts }) {
    const input = (i: number) => node.input?.[i];
    if (node.opType === 'MatMul') return consts.isFloat(input(1)) ? undefined : 'B must be a constant';
    if (attrInt(node, 'transA', 0) !== 0) return 'transA';
    if (!consts.isFloat(input(1))) return 'B must be a constant';
    if (input(2) && !consts.isFloat(input(2))) return 'C must be a constant';
    return undefined;
  },
  lower: lowerGemm,
};
