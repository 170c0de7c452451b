/**
 * Offline graph optimisation for the edge. onnxruntime-node applies its 'extended' graph
 * transformations (Conv+Clip/Relu → com.microsoft FusedConv, Gemm/MatMul fusions, constant
 * folding) and saves the result; the edge then loads that graph with optimisation 'disabled', so
 * session creation skips the transformation work and the first run starts from fewer, fused nodes.
 *
 * Why 'extended' and not 'all': 'all' adds NCHWc layout transforms (com.microsoft.nchwc ops) that
 * onnxruntime-web cannot load. Why verify in onnxruntime-web: the saved graph is only useful if the
 * engine the edge runs accepts it and computes the same outputs as the original graph in
 * onnxruntime-node (the engine training and the parity gate used).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ortNode from '../inference/ort-node.ts';
import { EdgetuneError, errorMessage } from '../../shared/errors.ts';
import { decodeModel, toNumber } from '../../shared/onnx/proto.ts';
import { createOrtWebRunner } from '../../shared/inference/ort-web-runner.ts';
import type { InferenceRunner } from '../../shared/inference/runner.ts';
import { createRng } from '../../shared/random.ts';
import { createOrtNodeRunner } from '../inference/ort-node-runner.ts';
import { getOrtWeb } from './web-runtime.ts';

/** The file name exports use for the optimised graph (manifest `optimized.file`). */
export const OPTIMIZED_FILE = 'model.opt.onnx';

export type OptimizationLevel = 'basic' | 'extended';

export interface OptimizeOptions {
  /** Default 'extended' (the highest level onnxruntime-web loads). */
  level?: OptimizationLevel;
  /** Check the saved graph in onnxruntime-web against the original in onnxruntime-node (default true). */
  verify?: boolean;
  /** Allowed |Δ| per output value: atol + rtol·|reference| (defaults 1e-4 and 1e-4). */
  atol?: number;
  rtol?: number;
  /** Seed of the random check inputs (uniform 0..1, the range image models see). */
  seed?: number;
  /** Batch size used for symbolic batch dims in the check (default 2). */
  batch?: number;
}

export interface OptimizeCheck {
  /** Largest |Δ| over all outputs. */
  maxAbsDiff: number;
  /** Output names compared. */
  outputs: string[];
  /** Values compared. */
  values: number;
}

export interface OptimizedGraph {
  /** What the manifest's `optimized` field takes. */
  file: string;
  sha256: string;
  size: number;
  bytes: Uint8Array;
  level: OptimizationLevel;
  /** Node counts by op type before and after, e.g. { Conv: 52 } → { FusedConv: 35, Conv: 17 }. */
  nodes: { before: Record<string, number>; after: Record<string, number> };
  /** Present when verified. */
  check?: OptimizeCheck;
}

function countOps(bytes: Uint8Array): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const n of decodeModel(bytes).graph?.node ?? []) {
    const op = n.domain ? `${n.domain}:${n.opType}` : (n.opType ?? '?');
    counts[op] = (counts[op] ?? 0) + 1;
  }
  return counts;
}

/** Saves `bytes` optimised at `level` by onnxruntime-node and returns the saved graph. */
export async function saveOptimizedGraph(bytes: Uint8Array, level: OptimizationLevel): Promise<Uint8Array> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgetune-opt-'));
  const file = path.join(dir, OPTIMIZED_FILE);
  try {
    const session = await ortNode.InferenceSession.create(bytes, {
      graphOptimizationLevel: level,
      optimizedModelFilePath: file,
      intraOpNumThreads: 1,
      executionProviders: ['cpu'],
    });
    await session.release();
    if (!fs.existsSync(file))
      throw new EdgetuneError('internal', 'onnxruntime-node did not write the optimised graph');
    return new Uint8Array(fs.readFileSync(file));
  } catch (e) {
    if (e instanceof EdgetuneError) throw e;
    throw new EdgetuneError(
      'bad_request',
      `onnxruntime-node could not optimise the model: ${errorMessage(e)}`,
      {
        cause: e,
      },
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Float inputs of a graph with symbolic/unknown dims replaced by `batch`. */
function inputShapes(bytes: Uint8Array, batch: number): { name: string; dims: number[] }[] {
  const g = decodeModel(bytes).graph;
  const initializers = new Set((g?.initializer ?? []).map((t) => t.name));
  return (g?.input ?? [])
    .filter((vi) => !initializers.has(vi.name ?? ''))
    .map((vi) => {
      const t = vi.type?.tensorType;
      if (t?.elemType !== 1) {
        throw new EdgetuneError(
          'unsupported',
          `input ${vi.name} is not float32; only float inputs are checked`,
        );
      }
      const dims = (t.shape?.dim ?? []).map((d) => (d.dimValue == null ? 0 : toNumber(d.dimValue)));
      return { name: vi.name ?? '', dims: dims.map((d) => (d > 0 ? d : batch)) };
    });
}

/**
 * Runs the original graph in onnxruntime-node and the optimised one in onnxruntime-web with
 * optimisation 'disabled' (exactly how the edge loads it) on the same seeded inputs.
 */
export async function checkOptimizedGraph(
  original: Uint8Array,
  optimized: Uint8Array,
  options: Pick<OptimizeOptions, 'seed' | 'batch' | 'atol' | 'rtol'> = {},
): Promise<OptimizeCheck> {
  const atol = options.atol ?? 1e-4;
  const rtol = options.rtol ?? 1e-4;
  const rng = createRng(options.seed ?? 1);
  const shapes = inputShapes(original, options.batch ?? 2);
  const data = shapes.map((s) =>
    Float32Array.from({ length: s.dims.reduce((a, b) => a * b, 1) }, () => rng()),
  );

  // The edge runs one float input (InferenceRunner), so that is what is checked.
  const [input, ...more] = shapes;
  if (input === undefined || more.length > 0) {
    throw new EdgetuneError('unsupported', `the graph has ${shapes.length} inputs; the edge runs one`);
  }
  const native = await createOrtNodeRunner(original, { device: 'cpu', threads: 1 });
  const reference: Record<string, Float32Array> = {};
  try {
    const out = await native.run(input.name, data[0]!, input.dims);
    for (const [k, t] of Object.entries(out)) reference[k] = t.data;
  } finally {
    await native.release();
  }

  let web: InferenceRunner;
  try {
    // Loaded as the edge loads an offline-optimised graph: no re-optimisation.
    web = await createOrtWebRunner(await getOrtWeb(), optimized, true);
  } catch (e) {
    throw new EdgetuneError(
      'unsupported',
      `onnxruntime-web cannot load the optimised graph: ${errorMessage(e)}`,
      {
        cause: e,
      },
    );
  }
  let maxAbsDiff = 0;
  let values = 0;
  try {
    const out = await web.run(input.name, data[0]!, input.dims);
    for (const [name, ref] of Object.entries(reference)) {
      const got = out[name]?.data;
      if (!(got instanceof Float32Array) || got.length !== ref.length) {
        throw new EdgetuneError(
          'parity_failed',
          `optimised graph: output ${name} is missing or has another size`,
        );
      }
      for (let i = 0; i < ref.length; i++) {
        const d = Math.abs(got[i]! - ref[i]!);
        // NaN fails: compare with a negated ≤.
        if (!(d <= atol + rtol * Math.abs(ref[i]!))) {
          throw new EdgetuneError(
            'parity_failed',
            `optimised graph differs from the original: ${name}[${i}] = ${got[i]} vs ${ref[i]} (|Δ| ${d.toExponential(2)})`,
          );
        }
        if (d > maxAbsDiff) maxAbsDiff = d;
      }
      values += ref.length;
    }
  } finally {
    await web.release();
  }
  return { maxAbsDiff, outputs: Object.keys(reference), values };
}

/**
 * The edge graph for an exported model: optimised offline, verified in onnxruntime-web, with the
 * digest the manifest records (`optimized: { file, sha256, size }`).
 */
export async function optimizeForEdge(
  bytes: Uint8Array,
  options: OptimizeOptions = {},
): Promise<OptimizedGraph> {
  const level = options.level ?? 'extended';
  const optimized = await saveOptimizedGraph(bytes, level);
  const check = options.verify === false ? undefined : await checkOptimizedGraph(bytes, optimized, options);
  return {
    file: OPTIMIZED_FILE,
    sha256: createHash('sha256').update(optimized).digest('hex'),
    size: optimized.byteLength,
    bytes: optimized,
    level,
    nodes: { before: countOps(bytes), after: countOps(optimized) },
    check,
  };
}
