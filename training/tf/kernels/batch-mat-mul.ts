/**
 * BatchMatMul for tfjs-backend-wasm where the shipped kernel takes its scalar path (an operand
 * transposed, or a batch > 1: XNNPACK only serves the plain 2-D product). Every dense layer's
 * gradients take that path (dW = Xᵀ·dY, dX = dY·Wᵀ), ~7× slower than the plain product.
 *
 * Bit-identical to the shipped `slow_batch_matmul`: each output is the sum over k in blocks of 48
 * (kBlockSize, measured), each block summed from 0 in k order and added to an output that starts
 * at 0. The SIMD kernel (kernels/training-kernels.wat) runs lanes across output columns, so each
 * lane performs exactly one element's scalar float32 operations. Operands are read in place when
 * their layout allows, otherwise repacked (O(MK + KN + MN) moves against O(MNK) products). When A
 * is transposed the kernel computes Cᵀ = Bᵀ·Aᵀ instead (the same products, a·b = b·a exactly), so
 * its lanes run along A's contiguous rows; the result is transposed back.
 */
import type { BatchMatMulAttrs, BatchMatMulInputs, KernelConfig } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heapOffset, type TrainingKernels, trainingKernels, withScratch } from './simd.ts';
import { replacing, type TensorInfo } from './wasm-ops.ts';

type Args = { inputs: BatchMatMulInputs; attrs: BatchMatMulAttrs; backend: BackendWasm };

/** A matrix in the heap: element (r, c) at ptr + 4·(r·rs + c·cs). */
interface View {
  ptr: number;
  rs: number;
  cs: number;
}

const roundUp = (n: number, m: number): number => Math.ceil(n / m) * m;

/**
 * out[rows][cols] (row stride `outRs` elements) = l · r over k, through the 4×8-tile kernel:
 * l is used in place when its rows are contiguous in k and a multiple of 4, r when its columns are
 * contiguous and a multiple of 8; otherwise they and the result go through packed scratch.
 */
function product(
  simd: TrainingKernels,
  backend: BackendWasm,
  l: View,
  r: View,
  out: View,
  rows: number,
  cols: number,
  k: number,
): void {
  const rowsP = roundUp(rows, 4);
  const colsP = roundUp(cols, 8);
  const lDirect = l.cs === 1 && l.rs === k && rows === rowsP;
  const rDirect = r.cs === 1 && r.rs === cols && cols === colsP;
  const oDirect = out.cs === 1 && out.rs === cols && cols === colsP && rows === rowsP;
  const lBytes = lDirect ? 0 : rowsP * k * 4;
  const rBytes = rDirect ? 0 : k * colsP * 4;
  const oBytes = oDirect ? 0 : rowsP * colsP * 4;
  withScratch(backend, lBytes + rBytes + oBytes, (scratch) => {
    let lp = l.ptr;
    if (!lDirect) {
      lp = scratch;
      simd.copy2d(l.ptr, l.rs * 4, l.cs * 4, lp, k * 4, rows, k);
    }
    let rp = r.ptr;
    if (!rDirect) {
      rp = scratch + lBytes;
      simd.copy2d(r.ptr, r.rs * 4, r.cs * 4, rp, colsP * 4, k, cols);
    }
    const op = oDirect ? out.ptr : scratch + lBytes + rBytes;
    simd.gemm(lp, rp, op, rowsP, colsP, k);
    if (!oDirect) {
      // out(r, c) = packed[r][c]; copy2d walks out row by row, so express packed in out's frame.
      if (out.cs === 1) simd.copy2d(op, colsP * 4, 4, out.ptr, out.rs * 4, rows, cols);
      else simd.copy2d(op, 4, colsP * 4, out.ptr, out.cs * 4, cols, rows);
    }
  });
}

export function batchMatMulConfig(shipped: KernelConfig): KernelConfig {
  const fallback = shipped.kernelFunc as unknown as (args: Args) => TensorInfo;
  const kernelFunc = (args: Args): TensorInfo => {
    const { inputs, attrs, backend } = args;
    const a = inputs.a as TensorInfo;
    const b = inputs.b as TensorInfo;
    const transA = attrs.transposeA;
    const transB = attrs.transposeB;
    const simd = trainingKernels(backend);
    if (simd === null || a.dtype !== 'float32' || b.dtype !== 'float32') return fallback(args);
    const ra = a.shape.length;
    const rb = b.shape.length;
    if (ra < 2 || rb < 2) return fallback(args);
    const batchA = a.shape.slice(0, -2).reduce((p, d) => p * d, 1);
    const batchB = b.shape.slice(0, -2).reduce((p, d) => p * d, 1);
    // Broadcast batches, and the plain 2-D product XNNPACK serves, stay with the shipped kernel.
    if (ra !== rb || batchA !== batchB || (!transA && !transB && batchA === 1)) return fallback(args);
    if (a.shape.slice(0, -2).some((d, i) => d !== b.shape[i])) return fallback(args);
    const m = transA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
    const k = transA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
    const kb = transB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
    const n = transB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
    if (k !== kb) return fallback(args);
    const out = backend.makeOutput([...a.shape.slice(0, -2), m, n], 'float32');
    if (m * n * batchA === 0) return out;
    // Pointers after the output's allocation; scratch allocations do not move existing tensors.
    const ap = heapOffset(backend, a);
    const bp = heapOffset(backend, b);
    const cp = heapOffset(backend, out);
    // Element strides: A(i, k) and B(k, j) as stored.
    const aI = transA ? 1 : k;
    const aK = transA ? m : 1;
    const bK = transB ? 1 : n;
    const bJ = transB ? k : 1;
    // Lanes run along the output's wider side when that side is contiguous in the operand.
    const swap = transA && (transB || m > n);
    for (let t = 0; t < batchA; t++) {
      const A = ap + t * m * k * 4;
      const B = bp + t * k * n * 4;
      const C = cp + t * m * n * 4;
      if (swap) {
        // Cᵀ[j][i] = Σ_k B(k, j)·A(i, k)
        const l = { ptr: B, rs: bJ, cs: bK };
        const r = { ptr: A, rs: aK, cs: aI };
        product(simd, backend, l, r, { ptr: C, rs: 1, cs: n }, n, m, k);
      } else {
        const l = { ptr: A, rs: aI, cs: aK };
        const r = { ptr: B, rs: bK, cs: bJ };
        product(simd, backend, l, r, { ptr: C, rs: n, cs: 1 }, m, n, k);
      }
    }
    return out;
  };
  return replacing(shipped, kernelFunc);
}
