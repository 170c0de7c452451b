/** Shared by the engine tests: onnxruntime-node references, error measures, relaxed-SIMD children. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as ort from 'onnxruntime-node';
import { loadKernelModules } from '../../../kernels/node-kernels.ts';
import type { KernelModules } from '../../../shared/engine/index.ts';
import { encodeModel, type ModelProto } from '../../../shared/onnx/proto.ts';

export async function ortRun(
  model: ModelProto,
  feeds: Record<string, { data: Float32Array; dims: number[] }>,
): Promise<Record<string, { data: Float32Array; dims: number[] }>> {
  const session = await ort.InferenceSession.create(encodeModel(model), {
    intraOpNumThreads: 1,
    executionProviders: ['cpu'],
  });
  const input: Record<string, ort.Tensor> = {};
  for (const [k, v] of Object.entries(feeds)) input[k] = new ort.Tensor('float32', v.data, v.dims);
  const out = await session.run(input);
  await session.release();
  return Object.fromEntries(
    Object.entries(out).map(([k, t]) => [k, { data: t.data as Float32Array, dims: [...t.dims] }]),
  );
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

/** max |a - b| / max |b|: the relative error of a whole tensor. */
export function relativeDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(b[i]!));
  return maxAbsDiff(a, b) / m;
}

/**
 * Runs a test's child script under `node --experimental-wasm-relaxed-simd` (the relaxed-SIMD
 * kernels only validate with that flag on Node 20) and parses what it prints as JSON.
 */
export async function relaxedChild<T>(script: URL, maxBuffer = 1 << 24): Promise<T> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--experimental-wasm-relaxed-simd', '--no-warnings', '--import', 'tsx', fileURLToPath(script)],
    { maxBuffer },
  );
  return JSON.parse(stdout) as T;
}

/**
 * `run` on the SIMD128 module in-process and, through `child` (a script printing `run`'s result
 * for loadKernelModules() as JSON), on the relaxed-SIMD module.
 */
export async function onBothModules<T>(
  run: (modules: KernelModules) => T,
  child: URL,
): Promise<{ simd: T; relaxed: T }> {
  const relaxed = relaxedChild<T>(child);
  return { simd: run(loadKernelModules({ relaxed: false })), relaxed: await relaxed };
}
