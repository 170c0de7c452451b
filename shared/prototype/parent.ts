/**
 * The version a prototype head is built on: its manifest, its ONNX file (checked against the
 * manifest) and, when it is itself a prototype version, its examples' stored embeddings.
 */
import { EdgetuneError } from '../errors.ts';
import type { PrototypeHeadInfo } from '../manifest/manifest.ts';
import { assertName } from '../names.ts';
import { readRouting } from '../routing/operations.ts';
import { latestVersionId, type PublishedManifest, requireManifest } from '../registry/versions.ts';
import { sha256Hex } from '../store/digest.ts';
import { keys } from '../store/keys.ts';
import type { ObjectStore } from '../store/types.ts';
import { decodeEmbeddings } from './examples.ts';
import type { PrototypeExample } from './head.ts';

export interface ParentRef {
  model: string;
  /** Absent: the model's stable version (or its newest one when nothing is stable). */
  version?: string;
}

export interface StoredExample extends PrototypeExample {
  sha256: string;
}

export interface PrototypeParent {
  model: string;
  version: string;
  manifest: PublishedManifest;
  bytes: Uint8Array;
  /** The parent's own examples when it is a prototype version, else empty. */
  examples: StoredExample[];
}

/** "model" or "model@version", as the `from` field takes it. */
export function parseParentRef(text: string): ParentRef {
  const [model, version, ...rest] = text.split('@');
  if (rest.length > 0) throw new EdgetuneError('bad_request', `from: ${JSON.stringify(text)} has two '@'`);
  assertName('model', model);
  if (version !== undefined) assertName('version', version);
  return version === undefined ? { model: model! } : { model: model!, version };
}

async function readVerified(
  store: ObjectStore,
  model: string,
  version: string,
  entry: { file: string; sha256: string; size: number },
): Promise<Uint8Array> {
  const got = await store.get(keys.versionFile(model, version, entry.file));
  if (!got)
    throw new EdgetuneError('corrupt', `${model}@${version}: ${entry.file} is missing from the store`);
  const sha = await sha256Hex(got.body);
  if (sha !== entry.sha256 || got.body.byteLength !== entry.size) {
    throw new EdgetuneError(
      'checksum_mismatch',
      `${model}@${version}: ${entry.file} does not match its manifest`,
    );
  }
  return got.body;
}

export async function resolveParentVersion(store: ObjectStore, ref: ParentRef): Promise<string> {
  if (ref.version) return ref.version;
  const routing = await readRouting(store, ref.model);
  const version = routing?.doc.stable ?? (await latestVersionId(store, ref.model));
  if (!version) throw new EdgetuneError('not_found', `model ${ref.model} has no published version`);
  return version;
}

export async function readPrototypeParent(store: ObjectStore, ref: ParentRef): Promise<PrototypeParent> {
  const version = await resolveParentVersion(store, ref);
  const manifest = await requireManifest(store, ref.model, version);
  const bytes = await readVerified(store, ref.model, version, manifest.model);
  const examples = manifest.head
    ? await readExamples(store, ref.model, version, manifest.head, manifest)
    : [];
  return { model: ref.model, version, manifest, bytes, examples };
}

async function readExamples(
  store: ObjectStore,
  model: string,
  version: string,
  head: PrototypeHeadInfo,
  manifest: PublishedManifest,
): Promise<StoredExample[]> {
  const raw = await readVerified(store, model, version, head.embeddings);
  const rows = decodeEmbeddings(raw, head.examples.length, manifest.outputs.embeddingDim);
  return head.examples.map((e, i) => ({ label: e.label, sha256: e.sha256, embedding: rows[i]! }));
}
