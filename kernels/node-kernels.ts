/**
 * Node host for the engine: compiles the committed kernel modules. The relaxed-SIMD one is only
 * offered when this V8 validates it (Node 20 needs --experimental-wasm-relaxed-simd), and is its
 * Node build (kernels/kernels-relaxed-node.wasm: the same source and integers, without the fused
 * int8 dot product Node 20's V8 gets wrong; see kernels/build.ts); workerd imports the .wasm files
 * as precompiled modules instead (see tests/workers/engine.test.ts).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KernelModules } from '../shared/engine/index.ts';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'shared', 'engine');

export function loadKernelModules(opts: { relaxed?: boolean } = {}): KernelModules {
  const simd = new WebAssembly.Module(readFileSync(join(dir, 'kernels-simd.wasm')));
  if (opts.relaxed === false) return { simd };
  const bytes = readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'kernels-relaxed-node.wasm'));
  return WebAssembly.validate(bytes) ? { simd, relaxed: new WebAssembly.Module(bytes) } : { simd };
}
