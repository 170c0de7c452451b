/**
 * The engine's memory layout and plan: how tensors are placed (NHWC, channel stride padded to 8
 * floats), the persistent weight region, the steps a plan runs, and the pure helpers the lowering
 * uses to lay weights out for the kernels.
 */
import { EdgetuneError } from '../errors.ts';
import type { WeightSnapshot } from './artifact.ts';
import type { QuantParams } from './kernel-calls.ts';
import type { KernelExports } from './kernels.ts';
import { alignUp } from './memory.ts';

export const roundUp8 = (n: number): number => Math.ceil(n / 8) * 8;
export const roundUp4 = (n: number): number => Math.ceil(n / 4) * 4;

interface Storage {
  offset: number;
  refs: number;
}

/**
 * A tensor as laid out in memory. `view` marks Transpose(0,2,3,1) output: logical NHWC. `q` marks
 * uint8 activation codes (one byte per element, same NHWC layout and channel stride) that only
 * the int8 lowerings read.
 */
export interface PlacedTensor {
  rank: 2 | 4;
  n: number;
  c: number;
  h: number;
  w: number;
  cs: number;
  st: Storage;
  view?: boolean;
  q?: QuantParams;
}

export function tensorBytes(t: Pick<PlacedTensor, 'n' | 'h' | 'w' | 'cs' | 'q'>): number {
  return t.n * t.h * t.w * t.cs * (t.q ? 1 : 4);
}

/** Where a tensor starts once the arena base is known. */
export type Addr = (base: number) => number;

export interface Step {
  op: string;
  name: string;
  run: () => void;
}

export interface PendingStep {
  op: string;
  name: string;
  make: (base: number) => () => void;
}

/** Weights and other per-model constants: written once, shared by every batch plan. */
const ALIGN_START = 64;

export class PersistentRegion {
  end = ALIGN_START;
  private readonly cache = new Map<string, number>();

  constructor(private readonly k: KernelExports) {}

  ensure(bytes: number): void {
    const mem = this.k.memory;
    if (mem.buffer.byteLength < bytes) mem.grow(Math.ceil((bytes - mem.buffer.byteLength) / 65536));
  }

  /** Weights packed here rather than found in a restored snapshot (see restore). */
  packed = 0;

  /**
   * Set once a snapshot was restored for a graph without weights (an artifact's graph): packing
   * would then read emptied codes, so a weight missing from the snapshot fails instead.
   */
  sealed = false;

  /** Writes `make()` once under `key` and returns its byte offset. */
  put(key: string, make: () => Float32Array | Int32Array | Int16Array | Int8Array): number {
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    if (this.sealed)
      throw new EdgetuneError(
        'unsupported',
        `engine: ${key} is not in the artifact, whose graph has no weights`,
      );
    this.packed++;
    const data = make();
    const offset = this.end;
    this.end = alignUp(offset + data.byteLength);
    this.ensure(this.end);
    new Uint8Array(this.k.memory.buffer, offset, data.byteLength).set(
      new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    );
    this.cache.set(key, offset);
    return offset;
  }

  /** What the lowerings stored so far (shared/engine/artifact.ts writes it to a file). */
  snapshot(): WeightSnapshot {
    const bytes = new Uint8Array(this.end - ALIGN_START);
    bytes.set(new Uint8Array(this.k.memory.buffer, ALIGN_START, bytes.byteLength));
    return { start: ALIGN_START, entries: new Map(this.cache), bytes };
  }

  /**
   * Puts a snapshot back into a fresh region in one copy: the lowerings then find every weight
   * under its key and pack nothing (unless the snapshot lacks one, which `packed` counts).
   */
  restore(s: WeightSnapshot): void {
    if (this.cache.size > 0 || s.start !== ALIGN_START)
      throw new Error('engine: cannot restore into this region');
    this.end = alignUp(s.start + s.bytes.byteLength);
    this.ensure(this.end);
    new Uint8Array(this.k.memory.buffer, s.start, s.bytes.byteLength).set(s.bytes);
    for (const [key, offset] of s.entries) this.cache.set(key, offset);
  }
}

export interface Plan {
  batch: number;
  base: number;
  arenaBytes: number;
  steps: Step[];
  inputs: Map<string, { tensor: PlacedTensor; staging: number }>;
  outputs: Map<string, PlacedTensor>;
}

export interface InputSpec {
  name: string;
  dims: number[];
}

/**
 * Packs a weight matrix into 8-column GEMM panels [ns/8][ks][8] (zeros beyond n and k).
 * `index(col, k)` gives the source element of output column `col`, reduction index `k`.
 */
export function packPanels(
  src: Float32Array,
  n: number,
  k: number,
  ks: number,
  ns: number,
  index: (col: number, k: number) => number,
  scale = 1,
): Float32Array {
  const out = new Float32Array(ns * ks);
  for (let col = 0; col < n; col++) {
    const panel = Math.floor(col / 8);
    const lane = col % 8;
    for (let kk = 0; kk < k; kk++) out[(panel * ks + kk) * 8 + lane] = src[index(col, kk)]! * scale;
  }
  return out;
}

/**
 * Packs depthwise 3×3 weights ([cout][9], ONNX order) for dw3x3: [cs/4][9][4], one channel group's
 * taps contiguous (immediate offsets in the kernel), zeros beyond cout.
 */
export function packDw3x3(weights: ArrayLike<number>, cout: number, cs: number): Float32Array {
  const p = new Float32Array(9 * cs);
  for (let c = 0; c < cout; c++) {
    for (let t = 0; t < 9; t++) p[(Math.floor(c / 4) * 9 + t) * 4 + (c % 4)] = weights[c * 9 + t]!;
  }
  return p;
}

/** qdw3x3's int16 weights [9][cs]: one tap's channels contiguous, 8 per vector, widened once here. */
export function packQDw16(codes: Int8Array, cout: number, cs: number): Int16Array {
  const p = new Int16Array(9 * cs);
  for (let c = 0; c < cout; c++) for (let t = 0; t < 9; t++) p[t * cs + c] = codes[c * 9 + t]!;
  return p;
}

/**
 * qdw3x3's int8 tap fours [3][cs][4] (taps 0-3, 4-7, and 8 with three zero partners): per channel
 * the four codes one lane of the int8 dot product multiplies with four taps' interleaved codes.
 */
export function packQDwQuads(codes: Int8Array, cout: number, cs: number): Int8Array {
  const p = new Int8Array(12 * cs);
  for (let c = 0; c < cout; c++) {
    for (let t = 0; t < 9; t++) p[(t >> 2) * 4 * cs + c * 4 + (t & 3)] = codes[c * 9 + t]!;
  }
  return p;
}

/** -zp · Σ_taps w per channel: what qdw3x3's unrolled interior taps take out of Σ x · w at once. */
export function qdwZeroPointSums(codes: Int8Array, cout: number, cs: number, zp: number): Int32Array {
  const p = new Int32Array(cs);
  for (let c = 0; c < cout; c++) {
    let sum = 0;
    for (let t = 0; t < 9; t++) sum += codes[c * 9 + t]!;
    p[c] = -zp * sum;
  }
  return p;
}

/**
 * Packs int8 weights for qgemm: 8-column panels, each k block of 4 as [2][4 columns][4 k]
 * (32 bytes), kq (a multiple of 4) k per column, zeros beyond n and k. Also returns Σ_k of each
 * column's codes (the zero-point correction needs it).
 */
export function packQPanels(
  codes: Int8Array,
  n: number,
  k: number,
  kq: number,
  ns: number,
  index: (col: number, k: number) => number,
): { packed: Int8Array; colSums: Int32Array } {
  const packed = new Int8Array(ns * kq);
  const colSums = new Int32Array(ns);
  for (let col = 0; col < n; col++) {
    const panel = Math.floor(col / 8);
    const lane = col % 8;
    const half = lane >> 2;
    for (let kk = 0; kk < k; kk++) {
      const v = codes[index(col, kk)]!;
      packed[panel * 8 * kq + (kk >> 2) * 32 + half * 16 + (lane & 3) * 4 + (kk & 3)] = v;
      colSums[col] = colSums[col]! + v;
    }
  }
  return { packed, colSums };
}

/**
 * qgemm's weight operands stored once per model under `key`: the packed int8 panels (`:qb`) and
 * the per-column zero-point correction -zp · Σ_k codes (`:zc`, int32) for activations with
 * zero point `zp`. Packs at most once, and not at all when both are already stored.
 */
export function putQPanels(
  ctx: { persist: PersistentRegion },
  key: string,
  w: { codes: () => Int8Array; n: number; k: number; kq: number; ns: number; zp: number },
  index: (col: number, k: number) => number,
): { b: number; zc: number } {
  let packed: ReturnType<typeof packQPanels> | undefined;
  const pack = () => {
    packed ??= packQPanels(w.codes(), w.n, w.k, w.kq, w.ns, index);
    return packed;
  };
  return {
    b: ctx.persist.put(`${key}:qb`, () => pack().packed),
    zc: ctx.persist.put(`${key}:zc`, () => Int32Array.from(pack().colSums, (s) => -w.zp * s)),
  };
}

/** GEMM row-chunk size: keep a chunk of A (mc x k floats) around 128 KB, a multiple of 4 rows. */
export function chunkRows(k: number): number {
  return Math.max(4, Math.floor(131072 / (k * 4)) & ~3);
}

/** Rows of int8 codes (kq bytes each) per qgemm chunk, at most `maxRows` rounded up to 4. */
export function qchunkRows(kq: number, maxRows: number): number {
  return Math.min(Math.max(4, Math.floor(65536 / kq) & ~3), roundUp4(maxRows));
}

/** qgemm's scratch: one tile's spilled accumulators (128 bytes), then `mc` packed rows. */
export const qpackBytes = (mc: number, kq: number): number => 128 + mc * kq;
