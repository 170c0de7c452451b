/**
 * The int8 epilogues' rounding (kernels-int8.wat: the quotient plus 1.5 · 2^23, its bits minus
 * 0x4b400000 - zp) against the `quantize` pass's nearest + trunc_sat + add, for every f32 y with
 * 2^-2 <= |y| <= 255 — all of them, on one kernel module: shared by requant-round.test.ts and its
 * relaxed-SIMD child. With scale 1 the epilogues requantize y itself; zp 0 takes the positive
 * quotients, zp 255 the negative ones (the clamped quotient lies in [-zp, qmax - zp]). Below 2^-2
 * both give zp (y + 1.5 · 2^23 rounds to 1.5 · 2^23 for |y| < 1/2); those y are checked at a
 * stride. Each y goes through qgemm's 4-row tile (bias y on a zero product) and qdw3x3 (one
 * pixel, all padding, bias y).
 */
import { KernelCalls } from '../../../shared/engine/kernel-calls.ts';
import { instantiateKernelsSync, type KernelModules } from '../../../shared/engine/kernels.ts';
import { qpackBytes } from '../../../shared/engine/layout.ts';

export interface RoundRun {
  variant: string;
  /** Values compared per epilogue. */
  checked: number;
  mismatches: string[];
}

const CHUNK = 1 << 20;
const NO_ACT = { lo: -Infinity, hi: Infinity, hs: 0 };

/** f32 bit patterns: every one in [from, to], or every `stride`-th. */
function* chunks(from: number, to: number, stride = 1): Generator<Int32Array> {
  for (let b = from; b <= to; b += CHUNK * stride) {
    const n = Math.min(CHUNK, Math.floor((to - b) / stride) + 1);
    const out = new Int32Array(CHUNK);
    for (let i = 0; i < n; i++) out[i] = b + i * stride;
    // the tail repeats the last value (the kernels take whole vectors)
    out.fill(b + (n - 1) * stride, n);
    yield out;
  }
}

export function runRoundingCheck(modules: KernelModules): RoundRun {
  const { variant, exports: raw } = instantiateKernelsSync(modules);
  const k = new KernelCalls(raw);
  let at = 1024;
  const take = (bytes: number) => {
    const p = at;
    at += Math.ceil(bytes / 64) * 64;
    return p;
  };
  const y = take(CHUNK * 4);
  const zeros = take(CHUNK * 12);
  const ones = take(CHUNK * 4);
  const ref = take(CHUNK);
  const gemmCodes = take(4 * CHUNK);
  const dwCodes = take(CHUNK);
  const pack = take(qpackBytes(4, 4));
  raw.memory.grow(Math.max(0, Math.ceil(at / 65536) - raw.memory.buffer.byteLength / 65536));
  const mem = () => raw.memory.buffer;
  new Float32Array(mem(), ones, CHUNK).fill(1);
  const mismatches: string[] = [];
  let checked = 0;
  const check = (bits: Int32Array, zp: number) => {
    new Int32Array(mem(), y, CHUNK).set(bits);
    const q = { scale: 1, zp, qmax: 255 };
    const codes = (at: number, ld: number) => ({ at, ld, q, lo: -Infinity, hi: Infinity });
    k.quantize({
      src: y,
      rows: 1,
      cs: CHUNK,
      ss: CHUNK * 4,
      dst: ref,
      ds: CHUNK,
      q,
      lo: -Infinity,
      hi: Infinity,
    });
    // y as each column's bias, on A · B = 0 (zero codes and weights, zero point 0)
    k.qgemm({
      a: zeros,
      lda: 4,
      m: 4,
      kq: 4,
      b: zeros,
      n: CHUNK,
      zc: zeros,
      scale: ones,
      bias: y,
      c: -1,
      ldc: CHUNK * 4,
      act: NO_ACT,
      res: 0,
      codes: codes(gemmCodes, CHUNK),
      mc: 4,
      pack,
    });
    // y as each channel's bias, one output pixel whose taps all fall in the padding
    k.qdw3x3({
      input: { at: zeros, h: 1, w: 1, cs: CHUNK },
      zp: 0,
      out: -1,
      oh: 1,
      ow: 1,
      stride: 1,
      padTop: 1,
      padLeft: 1,
      weights: zeros,
      quads: zeros,
      zc: zeros,
      scale: ones,
      bias: y,
      act: NO_ACT,
      codes: codes(dwCodes, CHUNK),
    });
    const want = new Uint8Array(mem(), ref, CHUNK);
    const got: [string, Uint8Array][] = [
      ...[0, 1, 2, 3].map(
        (r) =>
          [`qgemm row ${r}`, new Uint8Array(mem(), gemmCodes + r * CHUNK, CHUNK)] as [string, Uint8Array],
      ),
      ['qdw3x3', new Uint8Array(mem(), dwCodes, CHUNK)],
    ];
    for (const [name, g] of got) {
      if (
        Buffer.compare(
          Buffer.from(g.buffer, g.byteOffset, CHUNK),
          Buffer.from(want.buffer, want.byteOffset, CHUNK),
        ) === 0
      )
        continue;
      const i = g.findIndex((v, j) => v !== want[j]);
      const f = new Float32Array(bits.buffer)[i];
      if (mismatches.length < 8) mismatches.push(`${name} zp ${zp}: y ${f} → ${g[i]}, quantize → ${want[i]}`);
    }
    checked += CHUNK;
  };
  const quarter = 0x3e800000; // 0.25
  const top = 0x437f0000; // 255
  for (const [sign, zp] of [
    [0, 0],
    [0x80000000 | 0, 255],
  ] as const) {
    for (const c of chunks(quarter, top))
      check(
        c.map((b) => b | sign),
        zp,
      );
    for (const c of chunks(0, quarter - 1, 4099))
      check(
        c.map((b) => b | sign),
        zp,
      );
  }
  return { variant, checked, mismatches };
}
