/**
 * Compiles the triangle resize kernels (codecs/resize/index.ts, AssemblyScript) into
 * shared/preprocess/resize-triangle.wasm. The module is committed (a few KB) so a clean `npm ci`
 * has it and wrangler can bundle it; `npm run build:resize` regenerates it and
 * tests/node/preprocess/resize-build.test.ts checks that the committed bytes equal a fresh build.
 *
 * Usage: node --import tsx codecs/resize/build.ts [--check]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileAssemblyScript, repoRoot } from '../asc.ts';

export const RESIZE_KERNEL_ENTRY = join(repoRoot, 'codecs', 'resize', 'index.ts');
export const RESIZE_KERNEL_OUTPUT = join(repoRoot, 'shared', 'preprocess', 'resize-triangle.wasm');

export function buildResizeKernels(): Promise<Uint8Array> {
  return compileAssemblyScript(RESIZE_KERNEL_ENTRY);
}

async function main(): Promise<void> {
  const built = await buildResizeKernels();
  if (process.argv.includes('--check')) {
    let current: Uint8Array | undefined;
    try {
      current = readFileSync(RESIZE_KERNEL_OUTPUT);
    } catch {}
    const same = current !== undefined && Buffer.compare(Buffer.from(current), Buffer.from(built)) === 0;
    console.log(`${RESIZE_KERNEL_OUTPUT}: ${same ? 'up to date' : 'STALE'}`);
    if (!same) process.exitCode = 1;
    return;
  }
  writeFileSync(RESIZE_KERNEL_OUTPUT, built);
  console.log(`${RESIZE_KERNEL_OUTPUT}: ${built.length} bytes`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
