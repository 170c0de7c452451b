import { compileCommittedModule } from '../committed-wasm.ts';
import { FAST_BITS, type HuffmanTable } from './bits.ts';
import { ZIGZAG } from './frame.ts';
import { basis } from './idct.ts';

/**
 * The JPEG decoder's WebAssembly kernels (codecs/jpeg/*.ts, AssemblyScript, built into the
 * committed jpeg.wasm beside this file): sequential entropy decoding with dequantisation and the
 * scaled IDCT straight into the planes, the IDCT of progressive coefficients, YCbCr → RGB. The
 * host (decode.ts) parses markers and lays every buffer of one decode out in the instance's
 * linear memory (an arena), so planes and coefficients are plain typed-array views.
 */
interface Exports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  setLayout(base: number): number;
  decodeSequential(
    data: number,
    dataEnd: number,
    start: number,
    comps: number,
    ncomp: number,
    restartInterval: number,
    mcusPerLine: number,
    mcusPerColumn: number,
  ): number;
  idctPlane(
    coef: number,
    quant: number,
    blocksPerLine: number,
    blocksPerColumn: number,
    nx: number,
    ny: number,
    plane: number,
    stride: number,
  ): void;
  yccToRgb(
    py: number,
    pb: number,
    pr: number,
    xs: number,
    ys: number,
    width: number,
    height: number,
    out: number,
    identity: number,
  ): void;
}

/** decodeSequential's error codes (codecs/jpeg/scan.ts) → the TypeScript decoder's messages. */
export const SCAN_ERRORS: Record<number, string> = {
  [-1]: 'bad Huffman code',
  [-2]: 'a block has more than 64 coefficients',
  [-3]: 'truncated: the compressed data ends before the last block',
};

/** Huffman table slot layout (codecs/jpeg/scan.ts). */
export const HUFFMAN_SLOT_BYTES = 1024 + 4 * (1 << FAST_BITS);
/** Component descriptor layout (codecs/jpeg/scan.ts): 14 i32 fields. */
export const COMPONENT_BYTES = 64;

/**
 * Linear memory never shrinks. An instance whose memory grew past this for one large decode is
 * dropped afterwards (its memory goes with it at the next GC), so a Worker isolate (128 MB, of
 * which a MobileNetV2 session takes ~70) does not keep tens of MB for the one full-size photo it
 * once decoded. Shrink-on-load decodes of phone photos for a 224-px model need ~7 MB and keep it.
 */
const KEEP_MEMORY_BYTES = 16 * 2 ** 20;

let module: WebAssembly.Module | undefined;
let current: { exports: Exports; arena: number } | undefined;

/** The precompiled module (workerd: the imported `.wasm`; Node: the same file compiled). */
export function installJpegModule(m: WebAssembly.Module): void {
  // A different module (a profiling variant) gets its own instance at the next decode.
  if (m !== module) current = undefined;
  module = m;
}

function instantiate(): { exports: Exports; arena: number } {
  module ??= compileCommittedModule(new URL('./jpeg.wasm', import.meta.url), 'the JPEG decoder is');
  const exports = new WebAssembly.Instance(module, {}).exports as unknown as Exports;
  const base = exports.heapBase();
  const tablesEnd = exports.setLayout(base);
  grow(exports.memory, tablesEnd);
  // The constant tables, in setLayout's order, computed here in float64 like the TypeScript
  // reference (Math.cos is the same fdlibm port in Node and workerd).
  const aligned = (base + 15) & ~15;
  new Uint8Array(exports.memory.buffer, aligned, 64).set(ZIGZAG);
  const f = new Float64Array(exports.memory.buffer, aligned + 64, (tablesEnd - aligned - 64) >> 3);
  let at = 0;
  for (const n of [1, 2, 4, 8]) {
    f.set(basis(n), at);
    at += n === 1 ? 2 : n * n;
  }
  for (const n of [2, 4, 8]) {
    const b = basis(n);
    for (let u = 0; u < n; u++) for (let x = 0; x < n; x++) f[at + u * n + x] = b[x * n + u]!;
    at += n * n;
  }
  for (const k of [1.402, 0.344136286, 0.714136286, 1.772]) {
    for (let i = 0; i < 256; i++) f[at + i] = k * (i - 128);
    at += 256;
  }
  return { exports, arena: (tablesEnd + 15) & ~15 };
}

function grow(memory: WebAssembly.Memory, bytes: number): void {
  const have = memory.buffer.byteLength;
  if (bytes > have) memory.grow(Math.ceil((bytes - have) / 65536));
}

/** Bump allocation of one decode's buffers in the kernels' memory. */
export class JpegArena {
  readonly exports: Exports;
  private next: number;
  private readonly start: number;

  constructor() {
    current ??= instantiate();
    this.exports = current.exports;
    this.start = current.arena;
    this.next = current.arena;
  }

  /** Reserves `bytes` (16-byte aligned; contents undefined until written) and returns the address. */
  alloc(bytes: number): number {
    const at = this.next;
    this.next = (at + bytes + 15) & ~15;
    grow(this.exports.memory, this.next);
    return at;
  }

  bytes(at: number, length: number): Uint8Array {
    return new Uint8Array(this.exports.memory.buffer, at, length);
  }

  /** Forgets every allocation; drops the instance when one decode made its memory large. */
  release(): void {
    this.next = this.start;
    if (this.exports.memory.buffer.byteLength > KEEP_MEMORY_BYTES && current?.exports === this.exports)
      current = undefined;
  }
}

/** Writes a Huffman table into its slot at `at` (layout: codecs/jpeg/scan.ts). */
export function writeHuffman(arena: JpegArena, at: number, t: HuffmanTable): void {
  const buf = arena.exports.memory.buffer;
  new Uint16Array(buf, at, 256).set(t.lookahead);
  new Int32Array(buf, at + 512, 18).set(t.maxcode);
  new Int32Array(buf, at + 584, 17).set(t.valoffset);
  new Uint8Array(buf, at + 656, 256).set(t.values.subarray(0, 256));
  new Int32Array(buf, at + 912, 1)[0] = Math.min(t.values.length, 256);
  new Int32Array(buf, at + 1024, t.fastAc.length).set(t.fastAc);
}
