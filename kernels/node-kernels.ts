/**
 * Node host for the engine: compiles the committed kernel modules. The relaxed-SIMD one is only
 * offered when this V8 validates it (Node 20 needs --experimental-wasm-relaxed-simd); workerd
 * imports the .wasm files as precompiled modules instead (see tests/workers/engine.test.ts).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { fileURLToPath } from 'node:url';
import type { KernelModules } from '../shared/engine/index.ts';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'shared', 'engine');

export function loadKernelModules(opts: { relaxed?: boolean } = {}): KernelModules {
  const simd = new WebAssembly.Module(readFileSync(join(dir, 'kernels-simd.wasm')));
  if (opts.relaxed === false) return { simd };
  const bytes = readFileSync(join(dir, 'kernels-relaxed.wasm'));
  return WebAssembly.validate(bytes)
    ? { simd, relaxed: withoutLiftoff(() => new WebAssembly.Module(bytes)) }
    : { simd };
}

/**
 * Compiles with V8's optimising tier only. Node 20's baseline compiler (Liftoff) miscompiles
 * i32x4.relaxed_dot_i8x16_i7x16_add_s when the accumulator is not held in a register: its
 * scratch registers may reuse the accumulator's (wrong int8 GEMM sums, reproduced by
 * tests/node/engine/int8.test.ts); workerd's newer V8 does not, and there the fused op becomes one
 * AVX-VNNI vpdpbusd. The flag is V8-wide, so it is restored at once.
 */
function withoutLiftoff<T>(compile: () => T): T {
  setFlagsFromString('--no-liftoff');
  try {
    return compile();
  } finally {
    setFlagsFromString('--liftoff');
  }
}
