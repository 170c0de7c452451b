/**
 * The int8 depthwise (the qdw3x3 kernel: its unrolled interior, its 16- and 8-channel paths and
 * its border taps) against exact references, on one kernel module: shared by qdw-exact.test.ts and
 * its relaxed-SIMD child. Each case runs
 *   sums      scale 1, bias 0, no activation, floats out: the output must equal the exact integer
 *             Σ_taps (x − zp) · w (padding taps contribute nothing), bit for bit;
 *   epilogue  per-channel scale and bias, ReLU6 or HardSwish, floats and requantized codes out
 *             (and codes alone): all must equal a reference that rounds every step to f32 as the
 *             kernel's epilogue does.
 * Codes span 0..127 (the int8 paths' 7-bit activations) and weights -128..127, extremes included.
 */
import type { Act } from '../../../shared/engine/constants.ts';
import { KernelCalls } from '../../../shared/engine/kernel-calls.ts';
import { instantiateKernelsSync, type KernelModules } from '../../../shared/engine/kernels.ts';
import { packQDw16, packQDwQuads, qdwZeroPointSums, roundUp8 } from '../../../shared/engine/layout.ts';

export interface QdwCase {
  name: string;
  /** The input codes' zero point (padding taps are worth it). */
  zp: number;
  h: number;
  w: number;
  c: number;
  stride: number;
  pt: number;
  pl: number;
  oh: number;
  ow: number;
  hs: boolean;
}

export const QDW_CASES: readonly QdwCase[] = [
  {
    name: 's1 pad 1',
    zp: 127,
    h: 9,
    w: 9,
    c: 20,
    stride: 1,
    pt: 1,
    pl: 1,
    oh: 9,
    ow: 9,
    hs: false,
  },
  {
    name: 's1 pad 1, 13 wide',
    zp: 120,
    h: 9,
    w: 13,
    c: 16,
    stride: 1,
    pt: 1,
    pl: 1,
    oh: 9,
    ow: 13,
    hs: true,
  },
  {
    name: 's1 no pad, 8 channels',
    zp: 0,
    h: 8,
    w: 7,
    c: 8,
    stride: 1,
    pt: 0,
    pl: 0,
    oh: 6,
    ow: 5,
    hs: false,
  },
  {
    name: 's2 pad 1',
    zp: 77,
    h: 10,
    w: 10,
    c: 24,
    stride: 2,
    pt: 1,
    pl: 1,
    oh: 5,
    ow: 5,
    hs: true,
  },
  {
    name: 's2 pad 1, odd size',
    zp: 120,
    h: 11,
    w: 7,
    c: 40,
    stride: 2,
    pt: 1,
    pl: 1,
    oh: 6,
    ow: 4,
    hs: false,
  },
  {
    name: 's2 pad bottom/right only',
    zp: 100,
    h: 12,
    w: 12,
    c: 12,
    stride: 2,
    pt: 0,
    pl: 0,
    oh: 6,
    ow: 6,
    hs: false,
  },
  {
    name: '56×56×144 s2',
    zp: 3,
    h: 56,
    w: 56,
    c: 144,
    stride: 2,
    pt: 1,
    pl: 1,
    oh: 28,
    ow: 28,
    hs: false,
  },
  {
    name: '112×112×32 s1',
    zp: 127,
    h: 112,
    w: 112,
    c: 32,
    stride: 1,
    pt: 1,
    pl: 1,
    oh: 112,
    ow: 112,
    hs: true,
  },
];

export interface QdwRun {
  variant: string;
  /** case name → mismatches (empty when exact) and the number of values compared. */
  results: Record<string, { mismatches: string[]; compared: number }>;
}

/** A small deterministic generator (the cases must be the same in the parent and the child). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const f = Math.fround;

/** qhswish: y · clamp(y · (1/6 as f32) + 1/2, 0, 1), each step rounded to f32. */
function hswish(y: number): number {
  const t = f(f(y * f(0.16666667)) + 0.5);
  return f(y * Math.min(Math.max(t, 0), 1));
}

/** Round half to even (f32x4.nearest on an integer-range float). */
function nearest(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function runCase(
  k: KernelCalls,
  mem: () => ArrayBuffer,
  grow: (bytes: number) => void,
  c: QdwCase,
  seed: number,
) {
  const rnd = lcg(seed);
  const cs = roundUp8(c.c);
  const { zp } = c;
  const x = Uint8Array.from({ length: c.h * c.w * cs }, () => {
    const u = rnd();
    return u < 0.25 ? 0 : u < 0.5 ? 127 : Math.floor(rnd() * 128);
  });
  const wcodes = Int8Array.from({ length: c.c * 9 }, () => {
    const u = rnd();
    return u < 0.25 ? -128 : u < 0.4 ? 127 : Math.floor(rnd() * 256) - 128;
  });
  const scale = Float32Array.from({ length: cs }, (_, i) => (i < c.c ? f(1e-4 * (1 + rnd())) : 0));
  const bias = Float32Array.from({ length: cs }, (_, i) => (i < c.c ? f(rnd() * 4 - 2) : 0));
  // exact integer sums
  const sums = new Float64Array(c.oh * c.ow * cs);
  for (let oy = 0; oy < c.oh; oy++) {
    for (let ox = 0; ox < c.ow; ox++) {
      for (let ch = 0; ch < c.c; ch++) {
        let s = 0;
        for (let t = 0; t < 9; t++) {
          const iy = oy * c.stride - c.pt + Math.floor(t / 3);
          const ix = ox * c.stride - c.pl + (t % 3);
          if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;
          s += (x[(iy * c.w + ix) * cs + ch]! - zp) * wcodes[ch * 9 + t]!;
        }
        sums[(oy * c.ow + ox) * cs + ch] = s;
      }
    }
  }
  // memory: codes, scale, bias (zeros: the sums run's bias), floats out, codes out, packed weights
  let at = 1024;
  const take = (bytes: number) => {
    const p = at;
    at += Math.ceil(bytes / 64) * 64;
    return p;
  };
  const xa = take(x.length);
  const za = take(cs * 4);
  const sa = take(cs * 4);
  const ba = take(cs * 4);
  const oa = take(c.oh * c.ow * cs * 4);
  const qa = take(c.oh * c.ow * cs);
  const w16 = take(9 * cs * 2);
  const w4 = take(12 * cs);
  const zc = take(cs * 4);
  grow(at);
  new Int16Array(mem(), w16, 9 * cs).set(packQDw16(wcodes, c.c, cs));
  new Int8Array(mem(), w4, 12 * cs).set(packQDwQuads(wcodes, c.c, cs));
  new Int32Array(mem(), zc, cs).set(qdwZeroPointSums(wcodes, c.c, cs, zp));
  new Uint8Array(mem(), xa, x.length).set(x);
  new Float32Array(mem(), za, cs).fill(0);
  const q = { scale: f(0.05), zp: 3, qmax: 255 };
  const mismatches: string[] = [];
  let compared = 0;
  const run = (scaleAt: number, biasAt: number, act: Act, out: number, codes: boolean) => {
    new Float32Array(mem(), oa, c.oh * c.ow * cs).fill(Number.NaN);
    new Uint8Array(mem(), qa, c.oh * c.ow * cs).fill(0xee);
    k.qdw3x3({
      input: { at: xa, h: c.h, w: c.w, cs },
      zp,
      out,
      oh: c.oh,
      ow: c.ow,
      stride: c.stride,
      padTop: c.pt,
      padLeft: c.pl,
      weights: w16,
      quads: w4,
      zc,
      scale: scaleAt,
      bias: biasAt,
      act,
      codes: codes ? { at: qa, ld: cs, q, lo: -1, hi: 5 } : undefined,
    });
    return {
      y: new Float32Array(mem(), oa, c.oh * c.ow * cs),
      codes: new Uint8Array(mem(), qa, c.oh * c.ow * cs),
    };
  };
  // sums: scale 1, bias 0, no activation
  new Float32Array(mem(), sa, cs).fill(1);
  const plain = run(sa, za, { lo: -Infinity, hi: Infinity, hs: 0 }, oa, false);
  for (let i = 0; i < sums.length; i++) {
    if (i % cs >= c.c) continue;
    compared++;
    if (plain.y[i] !== sums[i] && mismatches.length < 5)
      mismatches.push(`sum ${i}: ${plain.y[i]} vs ${sums[i]}`);
  }
  // epilogue: the kernel's f32 arithmetic step by step
  new Float32Array(mem(), sa, cs).set(scale);
  new Float32Array(mem(), ba, cs).set(bias);
  const act: Act = { lo: 0, hi: 6, hs: c.hs ? 1 : 0 };
  const full = run(sa, ba, act, oa, true);
  const fullCodes = Uint8Array.from(full.codes);
  const fullY = Float32Array.from(full.y);
  // codes only (the kernel merges the two clamps where no HardSwish sits between them)
  const codesOnly = Uint8Array.from(run(sa, ba, act, -1, true).codes);
  for (let i = 0; i < sums.length; i++) {
    const ch = i % cs;
    if (ch >= c.c) continue;
    let y = f(f(sums[i]! * scale[ch]!) + bias[ch]!);
    y = Math.min(Math.max(y, act.lo), act.hi);
    if (c.hs) y = hswish(y);
    const v = f(Math.min(Math.max(y, -1), 5) / q.scale);
    const code = nearest(Math.min(Math.max(v, -q.zp), q.qmax - q.zp)) + q.zp;
    compared += 3;
    if (!Object.is(fullY[i], y) && mismatches.length < 5) mismatches.push(`y ${i}: ${fullY[i]} vs ${y}`);
    if (fullCodes[i] !== code && mismatches.length < 5)
      mismatches.push(`code ${i}: ${fullCodes[i]} vs ${code}`);
    if (codesOnly[i] !== code && mismatches.length < 5)
      mismatches.push(`codes-only ${i}: ${codesOnly[i]} vs ${code}`);
  }
  return { mismatches, compared };
}

export function runQdwExact(modules: KernelModules): QdwRun {
  const { variant, exports: raw } = instantiateKernelsSync(modules);
  const k = new KernelCalls(raw);
  const grow = (bytes: number) => {
    const have = raw.memory.buffer.byteLength;
    if (have < bytes) raw.memory.grow(Math.ceil((bytes - have) / 65536));
  };
  const results: QdwRun['results'] = {};
  for (const [i, c] of QDW_CASES.entries()) {
    results[c.name] = runCase(k, () => raw.memory.buffer, grow, c, 7 + i);
  }
  return { variant, results };
}
