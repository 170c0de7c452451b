import { EdgetuneError } from '../errors.ts';
import { type ModelManifest, ModelManifestSchema } from '../manifest/manifest.ts';
import { assertName } from '../names.ts';
import { sha256Hex } from '../store/digest.ts';
import { putJson } from '../store/json.ts';
import { assertFileName, keys, MANIFEST_FILE, versionName, versionNumber } from '../store/keys.ts';
import type { ObjectStore } from '../store/types.ts';
import { updateRouting } from '../routing/operations.ts';
import { listVersionFolders, type PublishedManifest, PublishedManifestSchema } from './versions.ts';

export interface PublishInput {
  /** The export's manifest.json, parsed but not yet trusted (validated here). */
  manifest: unknown;
  /** Files of the export by name; must hold the model file (and the optimized one if declared). */
  files: Record<string, Uint8Array>;
}

export interface PublishOptions {
  /** Version slots to try before giving up with `conflict` (default 50). */
  maxAttempts?: number;
  /** Runs after the files are uploaded and verified, just before the manifest makes the version
   * visible. Used by tests to simulate a publisher killed at the worst moment. */
  beforeManifest?: (version: string) => void | Promise<void>;
  onProgress?: (message: string) => void;
}

export interface PublishResult {
  name: string;
  version: string;
  manifest: PublishedManifest;
  /** How many version slots were tried (1 unless another publisher took the first). */
  attempts: number;
  /** True when this version became stable because the model had no routing yet. */
  madeStable: boolean;
}

/**
 * Publishes an export as the next version of `name`:
 * 1. validate the manifest and check the model's sha256/size against it;
 * 2. claim slot vN (N = newest visible + 1) by creating its files with If-None-Match: *. A slot
 *    whose files already exist with identical content is a crashed earlier publish of the same
 *    export and is reused; anything else is someone else's: move on to N+1;
 * 3. re-read the stored model and verify its checksum;
 * 4. create manifest.json with If-None-Match: * — the version becomes visible only now, so a
 *    reader never sees half a version, and if another publisher created it first, go to N+1.
 * 5. if the model had no routing document yet, this version becomes stable.
 */
export async function publishVersion(
  store: ObjectStore,
  name: string,
  input: PublishInput,
  options: PublishOptions = {},
): Promise<PublishResult> {
  assertName('model', name);
  const base = validateExport(name, input.manifest);
  const files = await checkFiles(base, input.files);
  const progress = options.onProgress ?? (() => {});
  const maxAttempts = options.maxAttempts ?? 50;

  let n = (await newestVisibleNumber(store, name)) + 1;
  for (let attempt = 1; attempt <= maxAttempts; attempt++, n++) {
    const version = versionName(n);
    if (await store.head(keys.manifest(name, version))) continue;
    progress(`uploading ${name} ${version}`);
    if (!(await claimSlot(store, name, version, files))) {
      progress(`${name} ${version} is taken by another publish; trying the next version`);
      continue;
    }
    await verifyStored(store, name, version, files);
    await options.beforeManifest?.(version);
    const manifest: PublishedManifest = PublishedManifestSchema.parse({ ...base, name, version });
    try {
      await putJson(store, keys.manifest(name, version), manifest, { ifNoneMatch: '*' });
    } catch (e) {
      if (e instanceof EdgetuneError && e.code === 'precondition_failed') continue;
      throw e;
    }
    progress(`published ${name} ${version}`);
    const routing = await updateRouting(
      store,
      name,
      'publish',
      (cur) =>
        cur === null || (cur.stable === null && cur.candidates.length === 0)
          ? { stable: version, candidates: [], shadow: cur?.shadow ?? null }
          : null,
      { reason: `first version ${version} published` },
    );
    return { name, version, manifest, attempts: attempt, madeStable: routing.changed };
  }
  throw new EdgetuneError(
    'conflict',
    `could not find a free version for ${name} after ${maxAttempts} attempts`,
  );
}

function validateExport(name: string, raw: unknown): ModelManifest {
  const parsed = ModelManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.length ? `${issue.path.join('.')}: ` : '';
    throw new EdgetuneError(
      'bad_request',
      `invalid export manifest for ${name}: ${path}${issue?.message ?? 'invalid'}`,
    );
  }
  const m = parsed.data;
  assertFileName(m.model.file);
  if (m.optimized) assertFileName(m.optimized.file);
  for (const v of publishedVariants(m)) assertFileName(v.file);
  return m;
}

/** Quantized variants that passed their gate: their files are checked like the model's. */
function publishedVariants(m: ModelManifest): { file: string; sha256: string; size: number }[] {
  return (m.variants ?? []).flatMap((v) =>
    v.published && v.file && v.sha256 && v.size !== undefined
      ? [
          { file: v.file, sha256: v.sha256, size: v.size },
          // its engine-ready form, when the export has one, is checked the same way
          ...(v.engine ? [{ file: v.engine.file, sha256: v.engine.sha256, size: v.engine.size }] : []),
        ]
      : [],
  );
}

interface FileToUpload {
  file: string;
  bytes: Uint8Array;
  sha256: string;
}

async function checkFiles(m: ModelManifest, given: Record<string, Uint8Array>): Promise<FileToUpload[]> {
  const declared = [m.model, ...(m.optimized ? [m.optimized] : []), ...publishedVariants(m)];
  const out: FileToUpload[] = [];
  for (const d of declared) {
    const bytes = given[d.file];
    if (!bytes) throw new EdgetuneError('bad_request', `export is missing ${d.file}`);
    const sha256 = await sha256Hex(bytes);
    if (sha256 !== d.sha256 || bytes.byteLength !== d.size) {
      throw new EdgetuneError(
        'checksum_mismatch',
        `${d.file}: sha256 ${sha256} / ${bytes.byteLength} bytes, but the manifest says ${d.sha256} / ${d.size} bytes`,
      );
    }
    out.push({ file: d.file, bytes, sha256 });
  }
  const names = new Set(declared.map((d) => d.file));
  for (const [file, bytes] of Object.entries(given).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (names.has(file)) continue;
    if (file === MANIFEST_FILE) continue; // the registry writes its own, last
    assertFileName(file);
    out.push({ file, bytes, sha256: await sha256Hex(bytes) });
  }
  return out; // model first: it is what claims the slot
}

async function newestVisibleNumber(store: ObjectStore, name: string): Promise<number> {
  const folders = await listVersionFolders(store, name);
  for (let i = folders.length - 1; i >= 0; i--) {
    if (await store.head(keys.manifest(name, folders[i]!))) return versionNumber(folders[i]!)!;
  }
  return 0;
}

/** Creates every file of the slot; true when each is now ours (created, or identical already). */
async function claimSlot(
  store: ObjectStore,
  name: string,
  version: string,
  files: FileToUpload[],
): Promise<boolean> {
  for (const f of files) {
    const key = keys.versionFile(name, version, f.file);
    try {
      await store.put(key, f.bytes, { ifNoneMatch: '*', contentType: contentTypeOf(f.file) });
    } catch (e) {
      if (!(e instanceof EdgetuneError && e.code === 'precondition_failed')) throw e;
      const existing = await store.get(key);
      if (!existing || (await sha256Hex(existing.body)) !== f.sha256) return false;
    }
  }
  return true;
}

async function verifyStored(
  store: ObjectStore,
  name: string,
  version: string,
  files: FileToUpload[],
): Promise<void> {
  for (const f of files) {
    const key = keys.versionFile(name, version, f.file);
    const stored = await store.get(key);
    const sha = stored ? await sha256Hex(stored.body) : null;
    if (sha !== f.sha256) {
      throw new EdgetuneError(
        'checksum_mismatch',
        `${store.url} ${key}: stored sha256 ${sha ?? '(missing)'} differs from the uploaded ${f.sha256}; not publishing`,
      );
    }
  }
}

function contentTypeOf(file: string): string {
  if (file.endsWith('.json')) return 'application/json';
  if (file.endsWith('.html')) return 'text/html; charset=utf-8';
  if (file.endsWith('.onnx')) return 'application/octet-stream';
  if (file.endsWith('.txt') || file.endsWith('.md')) return 'text/plain; charset=utf-8';
  return 'application/octet-stream';
}
