/** Runs the int8 fixture cases on the engine: shared by int8.test.ts and its relaxed-SIMD child. */
import { Compiler } from '../../../shared/engine/compile.ts';
import { ModelConstants } from '../../../shared/engine/constants.ts';
import type { KernelModules } from '../../../shared/engine/index.ts';
import { createEngineSession } from '../../../shared/engine/index.ts';
import { instantiateKernels } from '../../../shared/engine/kernels.ts';
import { PersistentRegion } from '../../../shared/engine/layout.ts';
import { prepareForEngine } from '../../../shared/engine/supports.ts';
import type { ModelProto } from '../../../shared/onnx/proto.ts';
import { int8Cases, int8Input } from '../../fixtures/int8-models.ts';

export const INT8_BATCHES = [1, 3] as const;

export interface Int8Run {
  variant: string;
  /** case → batch → output name → the float32 bit patterns (exact through JSON, -0 included). */
  outputs: Record<string, Record<number, Record<string, number[]>>>;
  /** case → engine step op types that ran. */
  steps: Record<string, string[]>;
  /** case → how many Quantize steps its plan has. */
  quantizePasses: Record<string, number>;
}

export function floatsOf(bits: readonly number[]): Float32Array {
  return new Float32Array(Uint32Array.from(bits).buffer);
}

export function int8Feed(dims: readonly number[], batch: number, seed: number) {
  const full = [batch, ...dims.slice(1)];
  return {
    data: int8Input(
      seed,
      full.reduce((a, b) => a * b, 1),
    ),
    dims: full,
  };
}

/** The op of every step the engine plans for `model` at `dims` (the session keeps its plan inside). */
async function planOps(model: ModelProto, dims: number[], kernels: KernelModules): Promise<string[]> {
  const prepared = prepareForEngine(model);
  const { exports: k } = await instantiateKernels(kernels);
  const compiler = new Compiler(prepared, new ModelConstants(prepared), k, new PersistentRegion(k));
  return compiler.compile([{ name: 'x', dims }]).steps.map((s) => s.op);
}

export async function runInt8Cases(kernels: KernelModules): Promise<Int8Run> {
  const run: Int8Run = { variant: '', outputs: {}, steps: {}, quantizePasses: {} };
  for (const [i, c] of int8Cases().entries()) {
    const session = await createEngineSession(c.model, kernels);
    run.variant = session.variant;
    run.outputs[c.name] = {};
    run.quantizePasses[c.name] = (await planOps(c.model, c.dims, kernels)).filter(
      (op) => op === 'Quantize',
    ).length;
    for (const batch of INT8_BATCHES) {
      const timings = new Map<string, number>();
      const out = session.runSync({ x: int8Feed(c.dims, batch, 100 + i) }, { timings });
      run.steps[c.name] = [...timings.keys()];
      run.outputs[c.name]![batch] = Object.fromEntries(
        Object.entries(out).map(([name, t]) => [
          name,
          Array.from(new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length)),
        ]),
      );
    }
  }
  return run;
}
