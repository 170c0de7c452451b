/**
 * What the edge may run besides the plain export, each checked before it is recorded:
 * - the offline 'extended' optimised graph (`model.opt.onnx`, fast session creation in
 *   onnxruntime-web), verified by training/optimize against onnxruntime-node;
 * - the edgetune wasm engine (shared/engine), when it supports every op: it runs the same raw
 *   validation images through the shared preprocessing and must match the tfjs predictions as
 *   closely as the onnxruntime parity gate demands. Only then does the manifest list it.
 */
import { loadKernelModules } from '../../kernels/node-kernels.ts';
import { errorMessage } from '../../shared/errors.ts';
import { describeUnsupported, supports } from '../../shared/engine/index.ts';
import { createEngineRunner } from '../../shared/inference/engine-runner.ts';
import type { InferenceRunner } from '../../shared/inference/runner.ts';
import { ENGINE_IDS } from '../../shared/inference/engines.ts';
import type { PreprocessSpec } from '../../shared/manifest/preprocess.ts';
import { decodeModel } from '../../shared/onnx/proto.ts';
import type { RawImage } from '../../shared/preprocess/types.ts';
import { type OptimizedGraph, optimizeForEdge } from '../optimize/optimize.ts';
import { maxProbabilityDiff, PARITY_TOLERANCE } from './parity.ts';

const ENGINE_ID = ENGINE_IDS.wasm;
const ORT_ID = ENGINE_IDS.onnxruntime;

export interface EdgeVariants {
  optimized: OptimizedGraph | null;
  engines: string[];
  engine: { maxAbsDiff: number; samples: number } | { skipped: string };
  notes: string[];
}

export async function prepareEdgeVariants(
  bytes: Uint8Array,
  images: readonly RawImage[],
  preprocess: PreprocessSpec,
  expected: Float32Array,
  classes: number,
): Promise<EdgeVariants> {
  const notes: string[] = [];
  let optimized: OptimizedGraph | null = null;
  try {
    optimized = await optimizeForEdge(bytes);
  } catch (e) {
    notes.push(`optimised graph not stored: ${errorMessage(e)}`);
  }
  const engines: string[] = [ORT_ID];
  const engine = await engineParity(bytes, images, preprocess, expected, classes);
  if ('maxAbsDiff' in engine) {
    if (engine.maxAbsDiff <= PARITY_TOLERANCE) engines.push(ENGINE_ID);
    else notes.push(`engine parity ${engine.maxAbsDiff.toExponential(2)} > ${PARITY_TOLERANCE}: not enabled`);
  } else {
    notes.push(`engine not used: ${engine.skipped}`);
  }
  return { optimized, engines, engine, notes };
}

async function engineParity(
  bytes: Uint8Array,
  images: readonly RawImage[],
  preprocess: PreprocessSpec,
  expected: Float32Array,
  classes: number,
): Promise<EdgeVariants['engine']> {
  const model = decodeModel(bytes);
  const report = supports(model);
  if (!report.ok) return { skipped: describeUnsupported(report) };
  let runner: InferenceRunner;
  try {
    runner = await createEngineRunner(model, loadKernelModules(), bytes.byteLength);
  } catch (e) {
    return { skipped: errorMessage(e) };
  }
  try {
    // One image per run, as the edge serves single requests.
    const maxAbsDiff = await maxProbabilityDiff(runner, images, preprocess, expected, classes, {
      batchSize: 1,
    });
    return { maxAbsDiff, samples: images.length };
  } finally {
    await runner.release();
  }
}
