/**
 * Assembles kernels/kernels.wat (with the int8 kernels of kernels/kernels-int8.wat spliced into the
 * same module) into the two kernel modules the engine ships, and the relaxed one's Node build:
 *   shared/engine/kernels-relaxed.wasm  (FMA = f32x4.relaxed_madd, DOT = i32x4.relaxed_dot_i8x16_i7x16_add_s)
 *   shared/engine/kernels-simd.wasm     (FMA = f32x4.add(f32x4.mul), DOT = two i32x4.dot_i16x8_s)
 *   kernels/kernels-relaxed-node.wasm   (as relaxed, DOT = i16x8.relaxed_dot_i8x16_i7x16_s + a
 *                                        pairwise widening add: see expandDot)
 * and kernels/training-kernels.wat into kernels/training-kernels.wasm (plain SIMD128: the training
 * backend's bit-identical replacements for tfjs-wasm kernels, see training/tf/kernels/simd.ts).
 * All are committed (a few KB each) so a clean `npm ci` has them and wrangler can bundle them;
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
export const INT8_KERNEL_SOURCE = join(root, 'kernels', 'kernels-int8.wat');
export const KERNEL_OUTPUTS = {
  relaxed: join(root, 'shared', 'engine', 'kernels-relaxed.wasm'),
  simd: join(root, 'shared', 'engine', 'kernels-simd.wasm'),
  'relaxed-node': join(root, 'kernels', 'kernels-relaxed-node.wasm'),
} as const;

export type KernelVariant = keyof typeof KERNEL_OUTPUTS;

export const TRAINING_KERNEL_SOURCE = join(root, 'kernels', 'training-kernels.wat');
export const TRAINING_KERNEL_OUTPUT = join(root, 'kernels', 'training-kernels.wasm');

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

/**
 * Expands every `(NAME a b c)` macro of three arguments (which may contain macros themselves)
 * with `render(a, b, c)`.
 */
function expandMacro(
  src: string,
  name: string,
  arity: number,
  render: (...args: string[]) => string,
): string {
  const open = `(${name} `;
  const at = src.indexOf(open);
  if (at < 0) return src;
  const args: string[] = [];
  let i = at + open.length;
  for (let n = 0; n < arity; n++) {
    const end = skipExpr(src, i);
    args.push(expandMacro(src.slice(i, end).trim(), name, arity, render));
    i = end;
  }
  while (/\s/.test(src[i] ?? '')) i++;
  if (src[i] !== ')') throw new Error(`${name} at ${at} does not take exactly ${arity} arguments`);
  return src.slice(0, at) + render(...args) + expandMacro(src.slice(i + 1), name, arity, render);
}

/** Expands every `(FMA a b c)` (a*b + c) for one variant; arguments may contain FMAs themselves. */
export function expandFma(src: string, variant: KernelVariant): string {
  return expandMacro(src, 'FMA', 3, (a, b, c) =>
    variant !== 'simd' ? `(f32x4.relaxed_madd ${a} ${b} ${c})` : `(f32x4.add (f32x4.mul ${a} ${b}) ${c})`,
  );
}

/**
 * Expands every `(DOT w x acc)`: acc + per i32 lane the sum of 4 adjacent products w (i8) · x
 * (0..127). The SIMD128 form sums the same products in another order (exact in int32), so both
 * variants give identical results; its arguments appear twice, so they must be side-effect free.
 *
 * The relaxed form is the fused i32x4.relaxed_dot_i8x16_i7x16_add_s: on a CPU with AVX-VNNI, V8
 * (workerd) lowers it to one vpdpbusd (x as the unsigned operand, exact for 0..127), without it to
 * pmaddubsw + pmaddwd + paddd. Node 20's V8 (11.3) computes the fused op wrongly in the qgemm tile
 * in both of its tiers (tests/node/engine/int8.test.ts caught it: garbage sums in some columns), so
 * the Node build of the relaxed module takes i16x8.relaxed_dot_i8x16_i7x16_s (pairs, exact in
 * i16 for a 7-bit x) and a pairwise widening add: the same integers, and without VNNI the same
 * instructions.
 */
export function expandDot(src: string, variant: KernelVariant): string {
  return expandMacro(src, 'DOT', 3, (w, x, acc) => {
    if (variant === 'relaxed') return `(i32x4.relaxed_dot_i8x16_i7x16_add_s ${w} ${x} ${acc})`;
    const half = (side: 'low' | 'high') =>
      `(i32x4.dot_i16x8_s (i16x8.extend_${side}_i8x16_s ${w}) (i16x8.extend_${side}_i8x16_s ${x}))`;
    const lo = half('low');
    const hi = half('high');
    const even = `(i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27 ${lo} ${hi})`;
    const odd = `(i8x16.shuffle 4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31 ${lo} ${hi})`;
    return `(i32x4.add ${acc} (i32x4.add ${even} ${odd}))`;
  });
}

/** kernels.wat with the int8 functions inserted before the module's closing parenthesis. */
export function kernelSource(): string {
  const main = readFileSync(KERNEL_SOURCE, 'utf8');
  const close = main.lastIndexOf(')');
  return `${main.slice(0, close)}\n${readFileSync(INT8_KERNEL_SOURCE, 'utf8')}${main.slice(close)}`;
}

type Wabt = Awaited<ReturnType<typeof wabtInit>>;

function assemble(wabt: Wabt, name: string, source: string, relaxed: boolean): Uint8Array<ArrayBuffer> {
  const mod = wabt.parseWat(name, source, { simd: true, relaxed_simd: relaxed, bulk_memory: true });
  try {
    mod.validate();
    return Uint8Array.from(mod.toBinary({ log: false, write_debug_names: true }).buffer);
  } finally {
    mod.destroy();
  }
}

/** Assembles both variants from the .wat source (deterministic: same source, same bytes). */
export async function buildKernels(): Promise<Record<KernelVariant, Uint8Array<ArrayBuffer>>> {
  const wabt = await wabtInit();
  const source = kernelSource();
  const out = {} as Record<KernelVariant, Uint8Array<ArrayBuffer>>;
  for (const variant of Object.keys(KERNEL_OUTPUTS) as KernelVariant[]) {
    const expanded = expandDot(expandFma(source, variant), variant);
    out[variant] = assemble(wabt, `kernels-${variant}.wat`, expanded, variant !== 'simd');
  }
  return out;
}

/** Assembles kernels/training-kernels.wat. */
export async function buildTrainingKernels(): Promise<Uint8Array<ArrayBuffer>> {
  const wabt = await wabtInit();
  return assemble(wabt, 'training-kernels.wat', readFileSync(TRAINING_KERNEL_SOURCE, 'utf8'), false);
}

async function main(): Promise<void> {
  const engine = await buildKernels();
  const built: [string, Uint8Array][] = (Object.keys(KERNEL_OUTPUTS) as KernelVariant[]).map((v) => [
    KERNEL_OUTPUTS[v],
    engine[v],
  ]);
  built.push([TRAINING_KERNEL_OUTPUT, await buildTrainingKernels()]);
  const check = process.argv.includes('--check');
  let stale = false;
  for (const [path, bytes] of built) {
    if (check) {
      let current: Uint8Array | undefined;
      try {
        current = readFileSync(path);
      } catch {}
      const same = current !== undefined && Buffer.compare(Buffer.from(current), Buffer.from(bytes)) === 0;
      if (!same) stale = true;
      console.log(`${path}: ${same ? 'up to date' : 'STALE'}`);
    } else {
      writeFileSync(path, bytes);
      console.log(`${path}: ${bytes.length} bytes`);
    }
  }
  if (stale) process.exitCode = 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
