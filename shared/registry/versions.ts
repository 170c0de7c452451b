import { z } from 'zod';
import { EdgetuneError } from '../errors.ts';
import { ModelManifestSchema } from '../manifest/manifest.ts';
import { NAME_PATTERN } from '../names.ts';
import { readJson } from '../store/json.ts';
import { compareVersions, keys, versionNumber } from '../store/keys.ts';
import type { ObjectStore } from '../store/types.ts';

/** A manifest as the registry stores it: same contract as the export, with `version` set. */
export const PublishedManifestSchema = ModelManifestSchema.extend({
  version: z.string().regex(NAME_PATTERN),
});
export type PublishedManifest = z.infer<typeof PublishedManifestSchema>;

/**
 * Version folders under `models/{name}/versions/`, numerically ordered, whether or not they are
 * visible (a crashed publish leaves a folder without a manifest).
 */
export async function listVersionFolders(store: ObjectStore, name: string): Promise<string[]> {
  const prefix = keys.versionsPrefix(name);
  const { prefixes } = await store.list(prefix, { delimiter: '/' });
  return prefixes
    .map((p) => p.slice(prefix.length, -1))
    .filter((v) => versionNumber(v) !== null)
    .sort(compareVersions);
}

/** Visible versions (those whose manifest exists), oldest first. */
export async function listVersionIds(store: ObjectStore, name: string): Promise<string[]> {
  const folders = await listVersionFolders(store, name);
  const present = await Promise.all(folders.map((v) => store.head(keys.manifest(name, v))));
  return folders.filter((_, i) => present[i] !== null);
}

/** The newest visible version, looking from the top so that usually one HEAD is enough. */
export async function latestVersionId(store: ObjectStore, name: string): Promise<string | null> {
  const folders = await listVersionFolders(store, name);
  for (let i = folders.length - 1; i >= 0; i--) {
    if (await store.head(keys.manifest(name, folders[i]!))) return folders[i]!;
  }
  return null;
}

/** The validated manifest of one version, or null when the version is not visible. */
export async function getManifest(
  store: ObjectStore,
  name: string,
  version: string,
): Promise<PublishedManifest | null> {
  const key = keys.manifest(name, version);
  const read = await readJson(store, key, PublishedManifestSchema);
  if (!read) return null;
  const m = read.value;
  // A manifest copied into the wrong folder would make the edge serve the wrong model.
  if (m.name !== name || m.version !== version) {
    throw new EdgetuneError(
      'corrupt',
      `corrupt object ${store.url} ${key}: it describes ${m.name}/${m.version}, not ${name}/${version}`,
    );
  }
  return m;
}

export async function requireManifest(
  store: ObjectStore,
  name: string,
  version: string,
): Promise<PublishedManifest> {
  const m = await getManifest(store, name, version);
  if (!m) throw new EdgetuneError('not_found', `model ${name} has no version ${version}`);
  return m;
}

/** Every visible version's manifest, oldest first. */
export async function listVersions(store: ObjectStore, name: string): Promise<PublishedManifest[]> {
  const folders = await listVersionFolders(store, name);
  const manifests = await Promise.all(folders.map((v) => getManifest(store, name, v)));
  return manifests.filter((m): m is PublishedManifest => m !== null);
}
