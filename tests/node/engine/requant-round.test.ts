/**
 * The int8 epilogues round exactly as the quantize pass: every f32 quotient y with
 * 2^-2 <= |y| <= 255 (and a stride through the smaller ones) gives the same code through qgemm's
 * tile and qdw3x3 as through `quantize`, on the SIMD128 module (in-process) and the
 * relaxed-SIMD module (a child with the flag Node 20 needs). See requant-round-run.ts.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadKernelModules } from '../../../kernels/node-kernels.ts';
import { type RoundRun, runRoundingCheck } from './requant-round-run.ts';

let simd: RoundRun;
let relaxed: RoundRun;

beforeAll(async () => {
  const child = fileURLToPath(new URL('./requant-round-child.ts', import.meta.url));
  const relaxedRun = promisify(execFile)(
    process.execPath,
    ['--experimental-wasm-relaxed-simd', '--no-warnings', '--import', 'tsx', child],
    { maxBuffer: 1 << 20 },
  );
  simd = runRoundingCheck(loadKernelModules({ relaxed: false }));
  relaxed = JSON.parse((await relaxedRun).stdout) as RoundRun;
}, 300_000);

describe('int8 epilogue rounding', () => {
  it("every quotient in range gives the quantize pass's code, on both modules", () => {
    expect(simd.variant).toBe('simd');
    expect(relaxed.variant).toBe('relaxed');
    for (const run of [simd, relaxed]) {
      // 2 signs × (0x437f0000 - 0x3e800000 + 1 values, in 1 Mi chunks, + the strided small ones)
      expect(run.checked, run.variant).toBeGreaterThan(2 * (0x437f0000 - 0x3e800000));
      expect(run.mismatches, run.variant).toEqual([]);
    }
  });
});
