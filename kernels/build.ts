/**
 * Assembles kernels/kernels.wat into the two kernel modules the engine ships:
 *   shared/engine/kernels-relaxed.wasm  (FMA = f32x4.relaxed_madd)
 *   shared/engine/kernels-simd.wasm     (FMA = f32x4.add(f32x4.mul), plain SIMD128)
 * Both are committed (a few KB each) so a clean `npm ci` has them and wrangler can bundle them;
 * `npm run build:engine` regenerates them and tests/node/engine/build.test.ts checks that the
 * committed bytes equal a fresh build.
 *
 * Usage: node --import tsx kernels/build.ts [--check]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const KERNEL_SOURCE = join(root, 'kernels', 'kernels.wat');
export const KERNEL_OUTPUTS = {
  relaxed: join(root, 'shared', 'engine', 'kernels-relaxed.wasm'),
  simd: join(root, 'shared', 'engine', 'kernels-simd.wasm'),
} as const;

export type KernelVariant = keyof typeof KERNEL_OUTPUTS;

/** Index just past the balanced s-expression (or bare token) that starts at `i`. */
function skipExpr(src: string, i: number): number {
  while (/\s/.test(src[i] ?? '')) i++;
  if (src[i] !== '(') {
    while (i < src.length && !/[\s()]/.test(src[i]!)) i++;
    return i;
  }
  let depth = 0;
  for (; i < src.length; i++) {
    if (src[i] === '(') depth++;
    else if (src[i] === ')' && --depth === 0) return i + 1;
  }
  throw new Error('unbalanced parentheses in kernels.wat');
}

/** Expands every `(FMA a b c)` (a*b + c) for one variant; arguments may contain FMAs themselves. */
export function expandFma(src: string, variant: KernelVariant): string {
  const at = src.indexOf('(FMA ');
  if (at < 0) return src;
  const args: string[] = [];
  let i = at + 5;
  for (let n = 0; n < 3; n++) {
    const end = skipExpr(src, i);
    args.push(expandFma(src.slice(i, end).trim(), variant));
    i = end;
  }
  while (/\s/.test(src[i] ?? '')) i++;
  if (src[i] !== ')') throw new Error(`FMA at ${at} does not take exactly 3 arguments`);
  const [a, b, c] = args;
  const expanded =
    variant === 'relaxed' ? `(f32x4.relaxed_madd ${a} ${b} ${c})` : `(f32x4.add (f32x4.mul ${a} ${b}) ${c})`;
  return src.slice(0, at) + expanded + expandFma(src.slice(i + 1), variant);
}

/** Assembles both variants from the .wat source (deterministic: same source, same bytes). */
export async function buildKernels(): Promise<Record<KernelVariant, Uint8Array<ArrayBuffer>>> {
  const wabt = await wabtInit();
  const source = readFileSync(KERNEL_SOURCE, 'utf8');
  const out = {} as Record<KernelVariant, Uint8Array<ArrayBuffer>>;
  for (const variant of Object.keys(KERNEL_OUTPUTS) as KernelVariant[]) {
    const mod = wabt.parseWat(`kernels-${variant}.wat`, expandFma(source, variant), {
      simd: true,
      relaxed_simd: variant === 'relaxed',
      bulk_memory: true,
    });
    try {
      mod.validate();
      out[variant] = Uint8Array.from(mod.toBinary({ log: false, write_debug_names: true }).buffer);
    } finally {
      mod.destroy();
    }
  }
  return out;
}

async function main(): Promise<void> {
  const built = await buildKernels();
  const check = process.argv.includes('--check');
  let stale = false;
  for (const variant of Object.keys(KERNEL_OUTPUTS) as KernelVariant[]) {
    const path = KERNEL_OUTPUTS[variant];
    if (check) {
      let current: Uint8Array | undefined;
      try {
        current = readFileSync(path);
      } catch {}
      const same =
        current !== undefined && Buffer.compare(Buffer.from(current), Buffer.from(built[variant])) === 0;
      if (!same) stale = true;
      console.log(`${path}: ${same ? 'up to date' : 'STALE'}`);
    } else {
      writeFileSync(path, built[variant]);
      console.log(`${path}: ${built[variant].length} bytes`);
    }
  }
  if (stale) process.exitCode = 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
