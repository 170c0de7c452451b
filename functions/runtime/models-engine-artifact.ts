/**
 * Reading a version's engine artifact (shared/engine/artifact.ts) for the model cache. The
 * artifact only saves time: whatever is wrong with it — missing, damaged (size or sha256 not the
 * manifest's), another format version, compiled from another ONNX file — is logged once per
 * version and the ONNX file is compiled as if there were no artifact. It never fails a request.
 * When it carries the graph (shared/engine/artifact-compile.ts) the model cache serves the
 * variant from it alone, the ONNX file unread: the artifact is verified against its own manifest
 * entry and bound to the variant's ONNX file by that file's sha256, so what runs is what the
 * export checked bit for bit against the ONNX file.
 */
import {
  decodeEngineArtifact,
  ENGINE_ARTIFACT_FORMAT,
  type EngineArtifact,
  engineArtifactFile,
} from '../../shared/engine/index.ts';
import { errorMessage } from '../../shared/errors.ts';
import { INT8_FILE } from '../../shared/manifest/manifest.ts';
import { verifyVersionFile } from '../../shared/registry/model-file.ts';
import type { ModelSource } from './model-source.ts';
import type { Int8Choice } from './precision.ts';

/** Versions whose artifact was already reported unusable (bounded: a log-once, not a registry). */
const warned = new Set<string>();
const WARNED_LIMIT = 256;

export function warnArtifactOnce(key: string, reason: string): void {
  if (warned.has(key)) return;
  if (warned.size >= WARNED_LIMIT) warned.clear();
  warned.add(key);
  console.warn(`${key}: engine artifact not used, compiling the ONNX file: ${reason}`);
}

/** A read of a version's int8 engine artifact started before its manifest was read. */
export interface EarlyArtifactRead {
  file: string;
  bytes: Promise<Uint8Array | null>;
}

/**
 * Starts reading name@version's int8 engine artifact under the name the training job gives it,
 * so that the read overlaps the manifest's instead of following it (a cold load's round trips
 * are serial otherwise). Nothing in it is trusted: readEngineArtifact uses it only when the
 * manifest lists an artifact of that name, and checks it like any read (size, sha256, the ONNX
 * file's sha256). Unused, it is dropped.
 */
export function startEarlyArtifactRead(
  source: ModelSource,
  name: string,
  version: string,
): EarlyArtifactRead {
  const file = engineArtifactFile(INT8_FILE);
  const bytes = source.readFile(name, version, file);
  // Never awaited when the manifest lists no such artifact: a failed read must not go unhandled.
  bytes.catch(() => undefined);
  return { file, bytes };
}

/**
 * `choice`'s engine artifact (its packed weights, and the graph when it carries one), checked
 * against the manifest and tied to the variant's ONNX file by its sha256; undefined when there is
 * none to use. `early` is this request's read started before the manifest arrived, used when it
 * is of the file the manifest lists.
 */
export async function readEngineArtifact(
  source: ModelSource,
  name: string,
  version: string,
  choice: Int8Choice,
  early?: EarlyArtifactRead,
): Promise<EngineArtifact | undefined> {
  const engine = choice.engine;
  if (!engine) return undefined;
  const key = `${name}@${version} ${engine.file}`;
  // Another format version is not even read: this engine could not use its bytes.
  if (engine.format !== ENGINE_ARTIFACT_FORMAT) {
    warnArtifactOnce(key, `format ${engine.format}, this engine reads ${ENGINE_ARTIFACT_FORMAT}`);
    return undefined;
  }
  try {
    const bytes = await verifyVersionFile(
      name,
      version,
      engine,
      await (early?.file === engine.file ? early.bytes : source.readFile(name, version, engine.file)),
    );
    const decoded = decodeEngineArtifact(bytes, choice.sha256);
    if (decoded.ok) return decoded.artifact;
    warnArtifactOnce(key, decoded.reason);
  } catch (e) {
    warnArtifactOnce(key, errorMessage(e));
  }
  return undefined;
}
