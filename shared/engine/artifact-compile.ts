/**
 * Writing an engine artifact (artifact.ts): compile the ONNX file once, the way the edge would,
 * and keep what the compiler stored. Runs where the model is exported (the training job), so
 * the edge's cold start skips the packing.
 */
import { decodeModel } from '../onnx/proto.ts';
import { encodeEngineArtifact, type WeightSnapshot } from './artifact.ts';
import type { KernelModules } from './kernels.ts';
import { createEngineSession } from './session.ts';

/** The artifact of `onnx` (whose sha256 is `onnxSha256`); throws when the engine cannot run it. */
export async function compileEngineArtifact(
  onnx: Uint8Array,
  onnxSha256: string,
  kernels: KernelModules,
): Promise<Uint8Array> {
  let snapshot: WeightSnapshot | undefined;
  const session = await createEngineSession(decodeModel(onnx), kernels, {
    onWeights: (s) => {
      snapshot = s;
    },
  });
  session.release();
  if (!snapshot) throw new Error('engine: the compiler stored no weights');
  return encodeEngineArtifact(onnxSha256, snapshot);
}
