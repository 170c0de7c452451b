/**
 * Compiles an AssemblyScript entry file of this repository into WebAssembly bytes, in memory, with
 * the flags the committed codec modules use: optimised, no garbage-collected runtime (the host
 * owns all memory), plain SIMD128 (no relaxed SIMD, no threads: validates on stock Node 20 and in
 * workerd). Deterministic: same sources and compiler, same bytes.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

const FLAGS = ['-O3', '--runtime', 'stub', '--noAssert', '--use', 'abort=', '--enable', 'simd'];

export async function compileAssemblyScript(entry: string): Promise<Uint8Array> {
  let binary: Uint8Array | undefined;
  const errors: string[] = [];
  const { error, stderr } = await asc.main([relative(repoRoot, entry), ...FLAGS, '-o', 'out.wasm'], {
    readFile: (name: string, baseDir: string) => {
      try {
        return readFileSync(join(repoRoot, baseDir, name), 'utf8');
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
