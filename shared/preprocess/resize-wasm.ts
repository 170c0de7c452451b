import { compileCommittedModule } from './committed-wasm.ts';

/**
 * The triangle resize's WebAssembly kernels (codecs/resize/index.ts, AssemblyScript, built into
 * the committed resize-triangle.wasm beside this file): both passes of resize-triangle.ts over
 * 8-bit samples, with the same float64 sums in the same order, so the output is bit-identical to
 * the TypeScript loops. The host computes the taps and lays one resize's buffers out in the
 * instance's memory.
 */
interface Exports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  horizontalRgb(
    src: number,
    width: number,
    rows: number,
    start: number,
    count: number,
    weights: number,
    maxTaps: number,
    outWidth: number,
    mid: number,
  ): void;
  horizontalAny(
    src: number,
    width: number,
    rows: number,
    channels: number,
    start: number,
    count: number,
    weights: number,
    maxTaps: number,
    outWidth: number,
    mid: number,
  ): void;
  rgbaOnWhite(src: number, pixels: number, dst: number): void;
  vertical(
    mid: number,
    stride: number,
    start: number,
    count: number,
    weights: number,
    maxTaps: number,
    outHeight: number,
    out: number,
  ): void;
}

/** Filter taps along one axis (computed by resize-triangle.ts). */
export interface Taps {
  /** First source index per output sample. */
  start: Int32Array;
  /** Number of taps per output sample. */
  count: Int32Array;
  /** Normalised weights, `maxTaps` per output sample. */
  weights: Float64Array;
  maxTaps: number;
}

/**
 * Linear memory never shrinks: an instance that one resize grew past this (a streamed 12 MP PNG
 * keeps 224 × 3024 × 3 float64 rows, 16 MB) is dropped afterwards rather than kept by the isolate.
 */
const KEEP_MEMORY_BYTES = 8 * 2 ** 20;
/** Source bytes copied into the module's memory per horizontal call. */
const BAND_BYTES = 256 * 1024;

let module: WebAssembly.Module | undefined;
/** An instance no resize is using; a resize that starts while another is open gets its own. */
let idle: { exports: Exports; base: number } | undefined;

/** The precompiled module (workerd: the imported `.wasm`; Node: the same file compiled). */
export function installResizeModule(m: WebAssembly.Module): void {
  module = m;
  idle = undefined;
}

function checkout(): { exports: Exports; base: number } {
  if (idle) {
    const instance = idle;
    idle = undefined;
    return instance;
  }
  module ??= compileCommittedModule(
    new URL('./resize-triangle.wasm', import.meta.url),
    'the resize kernels are',
  );
  const exports = new WebAssembly.Instance(module, {}).exports as unknown as Exports;
  return { exports, base: (exports.heapBase() + 15) & ~15 };
}

function checkin(instance: { exports: Exports; base: number }): void {
  if (instance.exports.memory.buffer.byteLength <= KEEP_MEMORY_BYTES && module !== undefined)
    idle ??= instance;
}

function reserve(memory: WebAssembly.Memory, end: number): void {
  const have = memory.buffer.byteLength;
  if (end > have) memory.grow(Math.ceil((end - have) / 65536));
}

/**
 * RGBA → RGB with alpha composited on white (png.ts's formula, exact integer arithmetic) in the
 * kernels (~1 MB per megapixel of branches in JavaScript otherwise), into a new array: RGBA PNGs
 * and GIFs. WebPs use rgbaOnWhiteInPlace.
 */
export function rgbaOnWhite(samples: Uint8Array): Uint8Array {
  return compositeRgba(samples, (rgb) => rgb.slice());
}

/**
 * rgbaOnWhite written over the front of `samples` itself (the first 3/4 of it; the view returned):
 * for a decoder's fresh output that nothing else reads. A new multi-megabyte result buffer is
 * usually memory new to the process (see release.ts), a page fault per 4 KiB on first write (a
 * 1 MP WebP's RGB: ~750 faults, several ms in workerd); `samples` was written moments ago and is
 * resident.
 */
export function rgbaOnWhiteInPlace(samples: Uint8Array): Uint8Array {
  return compositeRgba(samples, (rgb) => {
    samples.set(rgb);
    return samples.subarray(0, rgb.length);
  });
}

/** Runs the kernel on a copy of `samples` in the module's memory; `take` reads the RGB from there. */
function compositeRgba(samples: Uint8Array, take: (rgb: Uint8Array) => Uint8Array): Uint8Array {
  const instance = checkout();
  try {
    const pixels = samples.length >> 2;
    const { memory } = instance.exports;
    const src = instance.base;
    const dst = (src + samples.length + 15) & ~15;
    // +16: the kernel's last 16-byte store reaches 4 bytes past the pixels.
    reserve(memory, dst + pixels * 3 + 16);
    new Uint8Array(memory.buffer, src, samples.length).set(samples);
    instance.exports.rgbaOnWhite(src, pixels, dst);
    return take(new Uint8Array(memory.buffer, dst, pixels * 3));
  } finally {
    checkin(instance);
  }
}

/**
 * One triangle resize of 8-bit rows in the module: taps and the horizontally reduced rows live in
 * its memory; rows are copied in a band at a time and reduced as they come (see TriangleResizer).
 */
export class WasmTriangleResize {
  private readonly instance: { exports: Exports; base: number };
  private readonly at: { xs: TapsAt; ys: TapsAt; mid: number; band: number; out: number };
  private readonly bandRows: number;
  private rows = 0;
  private finished = false;

  constructor(
    readonly width: number,
    readonly height: number,
    readonly channels: number,
    readonly outWidth: number,
    readonly outHeight: number,
    private readonly xs: Taps,
    private readonly ys: Taps,
  ) {
    this.instance = checkout();
    const rowBytes = width * channels;
    this.bandRows = Math.max(1, Math.min(height, Math.floor(BAND_BYTES / rowBytes)));
    let next = this.instance.base;
    const alloc = (bytes: number) => {
      const p = next;
      next = (next + bytes + 15) & ~15;
      return p;
    };
    const xsAt = tapsAt(xs, alloc);
    const ysAt = tapsAt(ys, alloc);
    const mid = alloc(outWidth * height * channels * 8);
    // +16: horizontalRgb reads one byte past a row's last pixel.
    const band = alloc(this.bandRows * rowBytes + 16);
    const out = alloc(outWidth * outHeight * channels * 4);
    const memory = this.instance.exports.memory;
    reserve(memory, next);
    for (const [taps, t] of [
      [xs, xsAt],
      [ys, ysAt],
    ] as const) {
      new Int32Array(memory.buffer, t.start, taps.start.length).set(taps.start);
      new Int32Array(memory.buffer, t.count, taps.count.length).set(taps.count);
      new Float64Array(memory.buffer, t.weights, taps.weights.length).set(taps.weights);
    }
    this.at = { xs: xsAt, ys: ysAt, mid, band, out };
  }

  /** The next `n` rows (n × width × channels bytes). */
  addRows(data: Uint8Array, n: number): void {
    if (this.finished) throw new RangeError('this resize has finished');
    const { width, channels, outWidth, bandRows, at, xs } = this;
    const e = this.instance.exports;
    const rowBytes = width * channels;
    const midRow = outWidth * channels * 8;
    for (let y = 0; y < n; y += bandRows) {
      const rows = Math.min(bandRows, n - y);
      new Uint8Array(e.memory.buffer, at.band, rows * rowBytes).set(
        data.subarray(y * rowBytes, (y + rows) * rowBytes),
      );
      const mid = at.mid + (this.rows + y) * midRow;
      if (channels === 3) {
        e.horizontalRgb(
          at.band,
          width,
          rows,
          at.xs.start,
          at.xs.count,
          at.xs.weights,
          xs.maxTaps,
          outWidth,
          mid,
        );
      } else {
        e.horizontalAny(
          at.band,
          width,
          rows,
          channels,
          at.xs.start,
          at.xs.count,
          at.xs.weights,
          xs.maxTaps,
          outWidth,
          mid,
        );
      }
    }
    this.rows += n;
  }

  /** The vertical pass → outHeight × outWidth × channels float32 samples; frees the instance. */
  finish(): Float32Array {
    const { outWidth, outHeight, channels, at, ys } = this;
    if (this.finished) throw new RangeError('this resize has finished');
    this.finished = true;
    const e = this.instance.exports;
    e.vertical(
      at.mid,
      outWidth * channels,
      at.ys.start,
      at.ys.count,
      at.ys.weights,
      ys.maxTaps,
      outHeight,
      at.out,
    );
    const result = new Float32Array(e.memory.buffer, at.out, outWidth * outHeight * channels).slice();
    checkin(this.instance);
    return result;
  }
}

interface TapsAt {
  start: number;
  count: number;
  weights: number;
}

function tapsAt(taps: Taps, alloc: (bytes: number) => number): TapsAt {
  return {
    start: alloc(taps.start.length * 4),
    count: alloc(taps.count.length * 4),
    weights: alloc(taps.weights.length * 8),
  };
}
