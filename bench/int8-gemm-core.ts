/**
 * The body of the 1×1-GEMM microbenchmark (bench/int8-gemm.ts), free of Node APIs so that the same
 * code times the kernels in Node and inside a workerd isolate: the fp32 `gemm` vs the int8 `qgemm`
 * (7-bit codes × int8 weights, writing the next op's codes) on MobileNetV2-224's 1×1 shapes.
 */
import type { KernelExports } from '../shared/engine/kernels.ts';
import { chunkRows, qchunkRows, qpackBytes, roundUp8 } from '../shared/engine/layout.ts';
import { kernelWorker } from './kernel-worker-core.ts';
import { median } from './stats.ts';

/** [pixels, input channels, output channels] of MobileNetV2-224 1×1 convs (expand, project, last). */
export const SHAPES: [number, number, number][] = [
  [12544, 16, 96],
  [3136, 24, 144],
  [3136, 144, 24],
  [784, 192, 32],
  [196, 384, 64],
  [196, 576, 96],
  [49, 960, 160],
  [49, 320, 1280],
];

/** A clock in milliseconds: wall time in workerd, thread CPU time in Node (see bench/int8-gemm.ts). */
export type Clock = () => number;

/**
 * Median ms per call of `run` over 7 batches of at least 40 ms. wasm has no on-stack replacement:
 * a long call stays in the baseline tier, so each kernel runs a few times before it is timed.
 */
export function timeIt(run: () => void, now: Clock): number {
  for (let i = 0; i < 10; i++) run();
  let reps = 1;
  for (;;) {
    const t0 = now();
    for (let i = 0; i < reps; i++) run();
    const dt = now() - t0;
    if (dt > 40) break;
    reps *= 2;
  }
  const samples: number[] = [];
  for (let s = 0; s < 7; s++) {
    const t0 = now();
    for (let i = 0; i < reps; i++) run();
    samples.push((now() - t0) / reps);
  }
  return median(samples);
}

/** The fp32 gemm and int8 qgemm of one shape on instance `k`, inputs in place, ready to call. */
export function gemmCalls(
  k: KernelExports,
  [m, cin, cout]: [number, number, number],
): { fp32: () => void; int8: () => void } {
  const ks = roundUp8(cin);
  const ns = roundUp8(cout);
  const mc = Math.min(chunkRows(ks), Math.ceil(m / 4) * 4);
  const qmc = qchunkRows(ks, m);
  let at = 64;
  const take = (bytes: number) => {
    const p = at;
    at += Math.ceil(bytes / 64) * 64;
    return p;
  };
  const a = take(m * ks * 4);
  const b = take(ks * ns * 4);
  const bias = take(ns * 4);
  const c = take(m * ns * 4);
  const pack = take(mc * ks * 4);
  const qa = take(m * ks);
  const qb = take(ks * ns);
  const zc = take(ns * 4);
  const sc = take(ns * 4);
  const qc = take(m * ns);
  const qpack = take(qpackBytes(qmc, ks));
  if (k.memory.buffer.byteLength < at) k.memory.grow(Math.ceil((at - k.memory.buffer.byteLength) / 65536));
  const mem = k.memory.buffer;
  new Float32Array(mem, a, m * ks).forEach((_, i, v) => {
    v[i] = ((i * 7919) % 13) / 13;
  });
  new Float32Array(mem, b, ks * ns).forEach((_, i, v) => {
    v[i] = ((i * 104729) % 17) / 17 - 0.5;
  });
  new Uint8Array(mem, qa, m * ks).forEach((_, i, v) => {
    v[i] = (i * 7919) % 128;
  });
  new Int8Array(mem, qb, ks * ns).forEach((_, i, v) => {
    v[i] = ((i * 104729) % 255) - 127;
  });
  new Float32Array(mem, sc, ns).fill(0.001);
  const fp32 = () => k.gemm(a, ks * 4, m, ks, b, ns, bias, c, ns * 4, mc, 0, 6, 0, pack, 0);
  const int8 = () =>
    k.qgemm(
      qa,
      ks,
      m,
      ks,
      qb,
      ns,
      zc,
      sc,
      bias,
      -1,
      ns * 4,
      0,
      6,
      0,
      0,
      qc,
      ns,
      0.05,
      3,
      0,
      6,
      127,
      qmc,
      qpack,
    );
  return { fp32, int8 };
}

export interface GemmRow {
  variant: string;
  shape: [number, number, number];
  fp32_ms: number;
  int8_ms: number;
  fp32_gmacs: number;
  int8_gmacs: number;
}

/** Multiply-accumulates of one call (channels padded to 8, as the kernels compute them). */
export const macsOf = ([m, cin, cout]: [number, number, number]): number =>
  m * roundUp8(cin) * roundUp8(cout);

export function row(variant: string, shape: [number, number, number], fp32: number, int8: number): GemmRow {
  const macs = macsOf(shape);
  return {
    variant,
    shape,
    fp32_ms: fp32,
    int8_ms: int8,
    fp32_gmacs: macs / fp32 / 1e6,
    int8_gmacs: macs / int8 / 1e6,
  };
}

/** Every shape on one instance of each kernel module, timed in-process with `now`. */
export function benchModules(modules: Record<string, WebAssembly.Module>, now: Clock): GemmRow[] {
  const rows: GemmRow[] = [];
  for (const [variant, module] of Object.entries(modules)) {
    const k = new WebAssembly.Instance(module, {}).exports as unknown as KernelExports;
    for (const shape of SHAPES) {
      const { fp32, int8 } = gemmCalls(k, shape);
      rows.push(row(variant, shape, timeIt(fp32, now), timeIt(int8, now)));
    }
  }
  return rows;
}

/** The workerd side (bench/kernel-worker-core.ts): kinds fp32 and int8 of SHAPES. */
export function gemmWorker(modules: Record<string, WebAssembly.Module>): (req: Request) => Response {
  return kernelWorker(modules, (k, i) => (SHAPES[i] ? gemmCalls(k, SHAPES[i]) : undefined));
}
