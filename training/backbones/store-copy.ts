/**
 * Backbone files in the store, content-addressed by sha256: `backbones/{sha}/model.onnx`, plus
 * the `.tfjs` sidecar that `edgetune pretrain` leaves (what `--trainable` re-trains) under
 * `backbones/{sha}/tfjs/`. Publishing a version whose training recipe names a local backbone
 * file uploads it; a retraining worker on another machine (a Kubernetes Job) whose disk does not
 * have that file downloads it into its cache, checked against the recipe's sha256.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { EdgetuneError } from '../../shared/errors.ts';
import { keys } from '../../shared/store/keys.ts';
import type { ObjectStore } from '../../shared/store/types.ts';
import { parseBackboneSource } from './import.ts';

const MODEL = 'model.onnx';
const sha256Of = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** The local ONNX path of a file backbone source; null for nsfwjs:/tfjs: sources. */
function backboneFilePath(source: string): string | null {
  try {
    const parsed = parseBackboneSource(source);
    return parsed.kind === 'onnx' ? parsed.path : null;
  } catch {
    return null;
  }
}

/**
 * Uploads the backbone file (and its sidecar) unless the store has it. Returns what happened;
 * 'missing' when the file is not on this machine or no longer has that sha256.
 */
export async function uploadBackbone(
  store: ObjectStore,
  source: string,
  sha256: string,
): Promise<'uploaded' | 'present' | 'missing' | 'not-a-file'> {
  const file = backboneFilePath(source);
  if (!file) return 'not-a-file';
  if (await store.head(keys.backboneFile(sha256, MODEL))) return 'present';
  const bytes = await readFile(file).catch(() => null);
  if (!bytes || sha256Of(bytes) !== sha256) return 'missing';
  const sidecar = `${file}.tfjs`;
  const sideFiles = fs.existsSync(sidecar)
    ? (await readdir(sidecar, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name)
    : [];
  for (const name of sideFiles) {
    await store.put(keys.backboneFile(sha256, `tfjs/${name}`), await readFile(path.join(sidecar, name)));
  }
  // The model last: its presence means the copy is complete.
  await store.put(keys.backboneFile(sha256, MODEL), bytes);
  return 'uploaded';
}

/**
 * The backbone a recipe names, on this machine: its own path when the file is here with the
 * recorded sha256, otherwise the store's copy downloaded into `cacheDir/backbones/` (verified).
 * Returns the source unchanged when there is nothing better (nsfwjs:, or no copy in the store).
 */
export async function localBackbone(
  store: ObjectStore,
  recipe: { backbone: string; backboneSha256: string | null },
  cacheDir: string,
  log: (message: string) => void = () => undefined,
): Promise<string> {
  const file = backboneFilePath(recipe.backbone);
  const sha = recipe.backboneSha256;
  if (!file || !sha) return recipe.backbone;
  const here = await readFile(file).catch(() => null);
  if (here && sha256Of(here) === sha) return recipe.backbone;
  const target = path.join(cacheDir, 'backbones', `store-${sha.slice(0, 16)}.onnx`);
  const key = keys.backboneFile(sha, MODEL);
  const cached = await readFile(target).catch(() => null);
  if (cached && sha256Of(cached) === sha) {
    log(`backbone ${recipe.backbone} is not on this machine: using the store's copy ${key} (cached)`);
    return target;
  }
  const obj = await store.get(key);
  if (!obj) return recipe.backbone;
  if (sha256Of(obj.body) !== sha) {
    throw new EdgetuneError(
      'checksum_mismatch',
      `${store.url} ${obj.key}: content does not match its sha256`,
    );
  }
  // Sidecar into a fresh folder renamed into place, then the model by rename: a reader never
  // sees a half-written copy.
  await mkdir(path.dirname(target), { recursive: true });
  const tmp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
  const tfjsPrefix = `${keys.backbonePrefix(sha)}tfjs/`;
  const { objects } = await store.list(tfjsPrefix);
  if (objects.length > 0) {
    await mkdir(`${tmp}.tfjs`);
    for (const o of objects) {
      const part = await store.get(o.key);
      if (part) await writeFile(path.join(`${tmp}.tfjs`, o.key.slice(tfjsPrefix.length)), part.body);
    }
    await rm(`${target}.tfjs`, { recursive: true, force: true });
    await rename(`${tmp}.tfjs`, `${target}.tfjs`);
  }
  await writeFile(tmp, obj.body);
  await rename(tmp, target);
  log(`backbone ${recipe.backbone} is not on this machine: using the store's copy ${key}`);
  return target;
}
