/**
 * Microbenchmark of the engine's 1×1-convolution GEMMs in Node: the fp32 `gemm` vs the int8
 * `qgemm` (7-bit codes × int8 weights, writing the next op's codes) on the shapes of
 * MobileNetV2-224's 1×1 convs, both kernel modules. Prints multiply-accumulates per second
 * (medians of 7 timed batches). Node 20's V8 lowers the relaxed dot product less well than
 * workerd's (see README, int8 on the edge), so this is a relative check, not the workerd figure.
 *
 *   node --experimental-wasm-relaxed-simd --import tsx bench/int8-gemm.ts
 */
import os from 'node:os';
import { loadKernelModules } from '../kernels/node-kernels.ts';
import type { KernelExports } from '../shared/engine/kernels.ts';
import { chunkRows, qchunkRows, qpackBytes, roundUp8 } from '../shared/engine/layout.ts';
import { median } from './stats.ts';

/** [pixels, input channels, output channels] of MobileNetV2-224 1×1 convs (expand, project, last). */
const SHAPES: [number, number, number][] = [
  [12544, 16, 96],
  [3136, 24, 144],
  [3136, 144, 24],
  [784, 192, 32],
  [196, 384, 64],
  [196, 576, 96],
  [49, 960, 160],
  [49, 320, 1280],
];

function timeIt(run: () => void): number {
  // wasm has no on-stack replacement: a long call stays in the baseline tier, so run each kernel
  // a few times before timing it (the optimised code is used from the next call on)
  for (let i = 0; i < 10; i++) run();
  let reps = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) run();
    const dt = performance.now() - t0;
    if (dt > 40) break;
    reps *= 2;
  }
  const samples: number[] = [];
  for (let s = 0; s < 7; s++) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) run();
    samples.push((performance.now() - t0) / reps);
  }
  return median(samples);
}

function bench(k: KernelExports, [m, cin, cout]: [number, number, number]): { fp32: number; int8: number } {
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
  const fp32 = timeIt(() => k.gemm(a, ks * 4, m, ks, b, ns, bias, c, ns * 4, mc, 0, 6, 0, pack, 0));
  const int8 = timeIt(() =>
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
    ),
  );
  return { fp32, int8 };
}

const modules = loadKernelModules();
console.log(`${os.cpus()[0]?.model.trim()}, load ${os.loadavg()[0]?.toFixed(2)}, Node ${process.version}`);
console.log(
  '| module | pixels × K × N | fp32 gemm ms | int8 qgemm ms | fp32 GMAC/s | int8 GMAC/s | int8/fp32 |',
);
console.log('|---|---|---|---|---|---|---|');
for (const [variant, module] of Object.entries(modules)) {
  const k = new WebAssembly.Instance(module, {}).exports as unknown as KernelExports;
  for (const shape of SHAPES) {
    const { fp32, int8 } = bench(k, shape);
    const macs = shape[0] * roundUp8(shape[1]) * roundUp8(shape[2]);
    const g = (ms: number) => (macs / ms / 1e6).toFixed(1);
    console.log(
      `| ${variant} | ${shape.join(' × ')} | ${fp32.toFixed(3)} | ${int8.toFixed(3)} | ${g(fp32)} | ${g(int8)} | ${(fp32 / int8).toFixed(2)}× |`,
    );
  }
}
