/**
 * Compiles the triangle resize kernels (codecs/resize/index.ts, AssemblyScript) into
 * shared/preprocess/resize-triangle.wasm. The module is committed (a few KB) so a clean `npm ci`
 * has it and wrangler can bundle it; `npm run build:resize` regenerates it and
 * tests/node/preprocess/resize-build.test.ts checks that the committed bytes equal a fresh build.
 *
 * Usage: node --import tsx codecs/resize/build.ts [--check]
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCommand, compileAssemblyScript, repoRoot } from '../asc.ts';

export const RESIZE_KERNEL_ENTRY = join(repoRoot, 'codecs', 'resize', 'index.ts');
export const RESIZE_KERNEL_OUTPUT = join(repoRoot, 'shared', 'preprocess', 'resize-triangle.wasm');

export function buildResizeKernels(): Promise<Uint8Array> {
  return compileAssemblyScript(RESIZE_KERNEL_ENTRY);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1])
  await buildCommand(buildResizeKernels, RESIZE_KERNEL_OUTPUT);
