/**
 * Compiles an AssemblyScript entry file of this repository into WebAssembly bytes, in memory, with
 * the flags the committed codec modules use: optimised, no garbage-collected runtime (the host
 * owns all memory), plain SIMD128 (no relaxed SIMD, no threads: validates on stock Node 20 and in
 * workerd). Deterministic: same sources and compiler, same bytes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

const FLAGS = ['-O3', '--runtime', 'stub', '--noAssert', '--use', 'abort=', '--enable', 'simd'];

/**
 * `transform` may rewrite a source file before compiling (bench/photo-profile.ts builds JPEG
 * variants that skip a stage, to split the kernels' time by subtraction).
 */
export async function compileAssemblyScript(
  entry: string,
  transform?: (file: string, source: string) => string,
): Promise<Uint8Array> {
  let binary: Uint8Array | undefined;
  const errors: string[] = [];
  const { error, stderr } = await asc.main([relative(repoRoot, entry), ...FLAGS, '-o', 'out.wasm'], {
    readFile: (name: string, baseDir: string) => {
      try {
        const source = readFileSync(join(repoRoot, baseDir, name), 'utf8');
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

/**
 * A codec build script's command line: writes the module to `output`, or with `--check` exits 1
 * when the committed bytes differ from a fresh build.
 */
export async function buildCommand(build: () => Promise<Uint8Array>, output: string): Promise<void> {
  const built = await build();
  if (process.argv.includes('--check')) {
    let current: Uint8Array | undefined;
    try {
      current = readFileSync(output);
    } catch {}
    const same = current !== undefined && Buffer.compare(Buffer.from(current), Buffer.from(built)) === 0;
    console.log(`${output}: ${same ? 'up to date' : 'STALE'}`);
    if (!same) process.exitCode = 1;
    return;
  }
  writeFileSync(output, built);
  console.log(`${output}: ${built.length} bytes`);
}
