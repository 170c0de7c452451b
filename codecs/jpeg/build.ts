/**
 * Compiles the JPEG decoder kernels (codecs/jpeg/index.ts and its imports, AssemblyScript) into
 * shared/preprocess/jpeg/jpeg.wasm. The module is committed (a few KB) so a clean `npm ci` has it
 * and wrangler can bundle it; `npm run build:jpeg` regenerates it and
 * tests/node/preprocess/jpeg-build.test.ts checks that the committed bytes equal a fresh build.
 *
 * Usage: node --import tsx codecs/jpeg/build.ts [--check]
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCommand, compileAssemblyScript, repoRoot } from '../asc.ts';

export const JPEG_KERNEL_ENTRY = join(repoRoot, 'codecs', 'jpeg', 'index.ts');
export const JPEG_KERNEL_OUTPUT = join(repoRoot, 'shared', 'preprocess', 'jpeg', 'jpeg.wasm');

/** Compiles the kernels; `transform` may rewrite a source first (see compileAssemblyScript). */
export function buildJpegKernels(transform?: (file: string, source: string) => string): Promise<Uint8Array> {
  return compileAssemblyScript(JPEG_KERNEL_ENTRY, transform);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1])
  await buildCommand(buildJpegKernels, JPEG_KERNEL_OUTPUT);
