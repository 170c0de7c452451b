/**
 * The body of the depthwise microbenchmark (bench/int8-dw.ts), free of Node APIs so that the same
 * code times the kernels in Node and inside a workerd isolate, on MobileNetV2-224's depthwise
 * shapes (codes out, ReLU6, as the int8 graph runs them). Kinds:
 *   fp32      the fp32 dw3x3 on a float image
 *   qdw3x3    the int8 kernel on codes
 */
import { KernelCalls } from '../shared/engine/kernel-calls.ts';
import type { KernelExports } from '../shared/engine/kernels.ts';
import { kernelWorker } from './kernel-worker-core.ts';
import { packDw3x3, packQDw16, packQDwQuads, qdwZeroPointSums } from '../shared/engine/layout.ts';

/** [height = width, channels, stride] of MobileNetV2-224's depthwise convs. */
export const DW_SHAPES: [number, number, number][] = [
  [112, 32, 1],
  [112, 96, 2],
  [56, 144, 1],
  [56, 144, 2],
  [28, 192, 1],
  [28, 192, 2],
  [14, 384, 1],
  [14, 576, 1],
  [14, 576, 2],
  [7, 960, 1],
];

export const DW_KINDS = ['fp32', 'qdw3x3'] as const;
export type DwKind = (typeof DW_KINDS)[number];

/** One shape's operands in place on instance `raw`; each kind ready to call. */
export function dwCalls(
  raw: KernelExports,
  [hw, c, s]: [number, number, number],
): Record<DwKind, () => void> {
  const k = new KernelCalls(raw);
  const o = s === 1 ? hw : hw / 2;
  const cs = c;
  let at = 64;
  const take = (bytes: number) => {
    const p = at;
    at += Math.ceil(bytes / 64) * 64;
    return p;
  };
  const codes = take(hw * hw * cs);
  const floats = take(hw * hw * cs * 4);
  const wf = take(9 * cs * 4);
  const w16 = take(9 * cs * 2);
  const w4 = take(12 * cs);
  const zc = take(cs * 4);
  const zero = take(hw * cs * 4);
  const sc = take(cs * 4);
  const bias = take(cs * 4);
  const out = take(o * o * cs * 4);
  const qout = take(o * o * cs);
  if (raw.memory.buffer.byteLength < at)
    raw.memory.grow(Math.ceil((at - raw.memory.buffer.byteLength) / 65536));
  const mem = raw.memory.buffer;
  const zp = 3;
  new Uint8Array(mem, codes, hw * hw * cs).forEach((_, i, v) => {
    v[i] = (i * 7919) % 128;
  });
  new Float32Array(mem, floats, hw * hw * cs).forEach((_, i, v) => {
    v[i] = ((i * 7919) % 13) / 13;
  });
  const w = Int8Array.from({ length: c * 9 }, (_, i) => ((i * 104729) % 255) - 127);
  new Float32Array(mem, wf, 9 * cs).set(packDw3x3(w, c, cs));
  new Int16Array(mem, w16, 9 * cs).set(packQDw16(w, c, cs));
  new Int8Array(mem, w4, 12 * cs).set(packQDwQuads(w, c, cs));
  new Int32Array(mem, zc, cs).set(qdwZeroPointSums(w, c, cs, zp));
  new Float32Array(mem, sc, cs).fill(0.001);
  new Float32Array(mem, bias, cs).fill(0.1);
  const act = { lo: 0, hi: 6, hs: 0 };
  const codesOut = { at: qout, ld: cs, q: { scale: 6 / 127, zp: 0, qmax: 127 }, lo: 0, hi: 6 };
  const input = { at: codes, h: hw, w: hw, cs };
  const geometry = { oh: o, ow: o, stride: s, padTop: 1, padLeft: 1 };
  return {
    fp32: () => k.dw3x3({ input: { ...input, at: floats }, out, ...geometry, weights: wf, bias, act, zero }),
    qdw3x3: () =>
      k.qdw3x3({
        input,
        zp,
        out: -1,
        ...geometry,
        weights: w16,
        quads: w4,
        zc,
        scale: sc,
        bias,
        act,
        codes: codesOut,
      }),
  };
}

/** The workerd side (bench/kernel-worker-core.ts): DW_KINDS of DW_SHAPES. */
export function dwWorker(modules: Record<string, WebAssembly.Module>): (req: Request) => Response {
  return kernelWorker(modules, (k, i) => (DW_SHAPES[i] ? dwCalls(k, DW_SHAPES[i]) : undefined));
}
