import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { EdgetuneError } from '../../shared/errors.ts';
import { assertManifestMatchesGraph } from '../../shared/manifest/check-graph.ts';
import { fullBuildOnlyWarning, listsEngine, ModelManifestSchema } from '../../shared/manifest/manifest.ts';
import { decodeModel, type ModelProto } from '../../shared/onnx/proto.ts';
import { type PublishOptions, type PublishResult, publishVersion } from '../../shared/registry/publish.ts';
import { MANIFEST_FILE } from '../../shared/store/keys.ts';
import type { ObjectStore } from '../../shared/store/types.ts';
import { uploadBackbone } from '../backbones/store-copy.ts';
import { RECIPE_FILE, TrainingRecipeSchema } from '../train/recipe.ts';

/**
 * Publishes an export directory (manifest.json + model.onnx [+ model.opt.onnx, report.html, ...])
 * as the next version of `name`. `edgetune publish` and `edgetune train --store` both come here.
 * Only plain files at the top level are published; dot-files and sub-folders are skipped.
 * `warnings` tells the caller what to print, e.g. that only the full Worker build can serve it.
 */
export async function publishExportDir(
  store: ObjectStore,
  name: string,
  dir: string,
  options: PublishOptions = {},
): Promise<PublishResult & { skipped: string[]; warnings: string[] }> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR')
      throw new EdgetuneError('not_found', `export directory ${dir} not found`);
    throw e;
  }
  if (!entries.some((e) => e.isFile() && e.name === MANIFEST_FILE)) {
    throw new EdgetuneError('bad_request', `${dir} has no ${MANIFEST_FILE}: not an edgetune export`);
  }
  let manifest: unknown;
  try {
    manifest = JSON.parse(await readFile(path.join(dir, MANIFEST_FILE), 'utf8'));
  } catch (e) {
    throw new EdgetuneError('bad_request', `${path.join(dir, MANIFEST_FILE)} is not valid JSON`, {
      cause: e,
    });
  }
  const files: Record<string, Uint8Array> = {};
  const skipped: string[] = [];
  for (const entry of entries) {
    if (entry.name === MANIFEST_FILE) continue;
    if (!entry.isFile() || entry.name.startsWith('.')) {
      skipped.push(entry.name);
      continue;
    }
    const buf = await readFile(path.join(dir, entry.name));
    files[entry.name] = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  checkAgainstGraph(name, manifest, files);
  await uploadRecipeBackbone(store, files[RECIPE_FILE], options.onProgress);
  const result = await publishVersion(store, name, { manifest, files }, options);
  const warnings = listsEngine(result.manifest) ? [] : [fullBuildOnlyWarning(result.name, result.version)];
  return { ...result, skipped, warnings };
}

/**
 * The manifest must describe the graph it ships with (input, outputs, label count, batch): one
 * wrong tensor name would otherwise publish fine and fail every request at the edge.
 */
function checkAgainstGraph(name: string, raw: unknown, files: Record<string, Uint8Array>): void {
  const parsed = ModelManifestSchema.safeParse(raw);
  if (!parsed.success) return; // publishVersion reports schema problems with their path
  const bytes = files[parsed.data.model.file];
  if (!bytes) return; // and a missing file
  let model: ModelProto;
  try {
    model = decodeModel(bytes);
  } catch (e) {
    throw new EdgetuneError('bad_request', `${name}: ${parsed.data.model.file} is not an ONNX model`, {
      cause: e,
    });
  }
  assertManifestMatchesGraph(
    parsed.data,
    model,
    `${name}: manifest.json does not match ${parsed.data.model.file}`,
  );
}

/**
 * A version trained from a local backbone file takes the file along (content-addressed, once per
 * store), so that retraining can run on another machine. A recipe that does not parse is left to
 * the retraining worker to report.
 */
async function uploadRecipeBackbone(
  store: ObjectStore,
  recipeBytes: Uint8Array | undefined,
  log: (message: string) => void = () => undefined,
): Promise<void> {
  if (!recipeBytes) return;
  let recipe: { backbone: string; backboneSha256: string | null };
  try {
    recipe = TrainingRecipeSchema.parse(JSON.parse(new TextDecoder().decode(recipeBytes)));
  } catch {
    return;
  }
  if (!recipe.backboneSha256) return;
  const outcome = await uploadBackbone(store, recipe.backbone, recipe.backboneSha256);
  if (outcome === 'uploaded') log(`uploaded backbone ${recipe.backbone} for retraining elsewhere`);
  if (outcome === 'missing') {
    log(`warning: backbone ${recipe.backbone} is not on this machine: retraining needs it where it runs`);
  }
}
