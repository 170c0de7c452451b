// Public API of the edge CNN engine: import from 'shared/engine/index.ts'.
export {
  decodeEngineArtifact,
  encodeEngineArtifact,
  ENGINE_ARTIFACT_FORMAT,
  type EngineArtifact,
  engineArtifactFile,
  type WeightSnapshot,
} from './artifact.ts';
export { compileEngineArtifact } from './artifact-compile.ts';
export type { KernelModules, KernelVariant } from './kernels.ts';
export {
  type CreateOptions,
  createEngineSession,
  type EngineSession,
  type EngineTensor,
  type RunOptions,
} from './session.ts';
export { describeUnsupported, ENGINE_OPS, type SupportReport, supports } from './supports.ts';
