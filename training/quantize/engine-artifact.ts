/**
 * The int8 variant's engine artifact (shared/engine/artifact.ts), written beside it at export
 * time: the edge then copies the packed weights into wasm memory instead of packing them on a
 * cold start, and reads the graph from the artifact too instead of the ONNX file. Compiled with the SIMD128 kernels, which Node runs without flags; the packing does
 * not depend on the kernel variant (tests/node/engine/artifact.test.ts checks both give the same
 * bytes), so the relaxed-SIMD edge reads it as well.
 */
import { createHash } from 'node:crypto';
import { loadKernelModules } from '../../kernels/node-kernels.ts';
import {
  compileEngineArtifact,
  ENGINE_ARTIFACT_FORMAT,
  engineArtifactFile,
} from '../../shared/engine/index.ts';
import { errorMessage } from '../../shared/errors.ts';

export interface Int8EngineArtifact {
  bytes: Uint8Array;
  entry: { file: string; sha256: string; size: number; format: number };
}

/**
 * The artifact of the QDQ file `onnx` stored as `onnxFile`, or undefined (logged) when the
 * engine cannot compile it — the variant is then published without one and the edge compiles
 * the ONNX file, as for versions published before artifacts existed.
 */
export async function int8EngineArtifact(
  onnx: Uint8Array,
  onnxFile: string,
  log: (line: string) => void,
): Promise<Int8EngineArtifact | undefined> {
  const sha = createHash('sha256').update(onnx).digest('hex');
  try {
    const bytes = await compileEngineArtifact(onnx, sha, loadKernelModules({ relaxed: false }));
    return {
      bytes,
      entry: {
        file: engineArtifactFile(onnxFile),
        sha256: createHash('sha256').update(bytes).digest('hex'),
        size: bytes.byteLength,
        format: ENGINE_ARTIFACT_FORMAT,
      },
    };
  } catch (e) {
    log(`int8: no engine artifact (the edge will compile ${onnxFile}): ${errorMessage(e)}`);
    return undefined;
  }
}
