/**
 * Compiles the JPEG decoder kernels (codecs/jpeg/index.ts and its imports, AssemblyScript) into
 * shared/preprocess/jpeg/jpeg.wasm. The module is committed (a few KB) so a clean `npm ci` has it
 * and wrangler can bundle it; `npm run build:jpeg` regenerates it and
 * tests/node/preprocess/jpeg-build.test.ts checks that the committed bytes equal a fresh build.
 *
 * Usage: node --import tsx codecs/jpeg/build.ts [--check]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const JPEG_KERNEL_ENTRY = join(root, 'codecs', 'jpeg', 'index.ts');
export const JPEG_KERNEL_OUTPUT = join(root, 'shared', 'preprocess', 'jpeg', 'jpeg.wasm');

/** The compiler flags: optimised, no garbage-collected runtime (the host owns all memory), SIMD. */
const FLAGS = ['-O3', '--runtime', 'stub', '--noAssert', '--use', 'abort=', '--enable', 'simd'];

/**
 * Compiles the kernels (deterministic: same sources and compiler, same bytes). `transform` may
 * rewrite a source file before compiling (bench/photo-profile.ts builds variants that skip a
 * stage, to split the kernels' time by subtraction).
 */
export async function buildJpegKernels(
  transform?: (file: string, source: string) => string,
): Promise<Uint8Array> {
  let binary: Uint8Array | undefined;
  const errors: string[] = [];
  const { error, stderr } = await asc.main([relative(root, JPEG_KERNEL_ENTRY), ...FLAGS, '-o', 'jpeg.wasm'], {
    readFile: (name: string, baseDir: string) => {
      try {
        const source = readFileSync(join(root, baseDir, name), 'utf8');
        return transform ? transform(name, source) : source;
      } catch {
        return null;
      }
    },
    writeFile: (name: string, contents: Uint8Array | string) => {
      if (name.endsWith('.wasm')) binary = contents as Uint8Array;
    },
    listFiles: () => [],
    stderr: { write: (s: string) => errors.push(s) } as never,
  });
  if (error || !binary) throw new Error(`asc failed: ${error?.message ?? ''}\n${errors.join('')}${stderr}`);
  return binary;
}

async function main(): Promise<void> {
  const built = await buildJpegKernels();
  if (process.argv.includes('--check')) {
    let current: Uint8Array | undefined;
    try {
      current = readFileSync(JPEG_KERNEL_OUTPUT);
    } catch {}
    const same = current !== undefined && Buffer.compare(Buffer.from(current), Buffer.from(built)) === 0;
    console.log(`${JPEG_KERNEL_OUTPUT}: ${same ? 'up to date' : 'STALE'}`);
    if (!same) process.exitCode = 1;
    return;
  }
  writeFileSync(JPEG_KERNEL_OUTPUT, built);
  console.log(`${JPEG_KERNEL_OUTPUT}: ${built.length} bytes`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
