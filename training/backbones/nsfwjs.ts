/**
 * The pretrained backbones bundled in the npm package nsfwjs (MIT): Keras MobileNetV2 (224 px)
 * and InceptionV3 (299 px), ImageNet-pretrained then fine-tuned on 5 image-safety classes,
 * input RGB scaled to 0..1.
 *
 * The package's `exports` map hides the model files and its own loader decodes base64 one
 * character at a time (7-74 s). The files are browserify UMD bundles (CommonJS: the JSON
 * topology, and one base64 string per weight shard), so they are required directly from the
 * resolved package directory and decoded with Buffer. The conversion is cached on disk, keyed by
 * package version and converter version.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { EdgetuneError } from '../../shared/errors.ts';
import { cacheRoot } from '../cache-root.ts';
import { CONVERTER_ID, type ConvertedModel, convertLayersModel } from './convert/index.ts';
import { ensureTf } from '../tf/backend.ts';
import { readWeights, WeightsManifestSchema } from './tfjs-file.ts';

export const NSFWJS_MODELS = {
  MobileNetV2: { dir: 'mobilenet_v2', shards: 1, size: 224 },
  InceptionV3: { dir: 'inception_v3', shards: 6, size: 299 },
} as const;
export type NsfwjsModelName = keyof typeof NSFWJS_MODELS;

export function isNsfwjsModelName(name: string): name is NsfwjsModelName {
  return Object.hasOwn(NSFWJS_MODELS, name);
}

const require = createRequire(import.meta.url);

const ModelJsonSchema = z.object({
  modelTopology: z.record(z.string(), z.unknown()),
  weightsManifest: WeightsManifestSchema,
});

export interface NsfwjsPackage {
  dir: string;
  version: string;
}

/** The installed nsfwjs package (its directory and version). */
export function nsfwjsPackage(): NsfwjsPackage {
  let entry: string;
  try {
    entry = require.resolve('nsfwjs');
  } catch (e) {
    throw new EdgetuneError('not_found', 'the npm package nsfwjs is not installed', { cause: e });
  }
  for (let dir = path.dirname(entry); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const pkgFile = path.join(dir, 'package.json');
    if (!fs.existsSync(pkgFile)) continue;
    const pkg = z
      .object({ name: z.string().optional(), version: z.string() })
      .safeParse(JSON.parse(fs.readFileSync(pkgFile, 'utf8')));
    if (pkg.success && pkg.data.name === 'nsfwjs') return { dir, version: pkg.data.version };
  }
  throw new EdgetuneError('not_found', `cannot find the nsfwjs package directory above ${entry}`);
}

/** Class labels in output order, read from the package (Drawing, Hentai, Neutral, Porn, Sexy). */
export function nsfwjsLabels(pkg: NsfwjsPackage = nsfwjsPackage()): string[] {
  const mod = z
    .object({ NSFW_CLASSES: z.record(z.string(), z.string()) })
    .parse(require(path.join(pkg.dir, 'dist', 'cjs', 'nsfw_classes.js')));
  return Object.entries(mod.NSFW_CLASSES)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([, label]) => label);
}

/** Requires one bundled CommonJS module and drops it from the require cache (they are large). */
function requireOnce(file: string): unknown {
  if (!fs.existsSync(file)) throw new EdgetuneError('not_found', `nsfwjs model file missing: ${file}`);
  try {
    return require(file);
  } finally {
    delete require.cache[file];
  }
}

/** The tfjs model artifacts (topology + dequantisable weights) of a bundled model. */
export function nsfwjsArtifacts(
  name: NsfwjsModelName,
  pkg: NsfwjsPackage = nsfwjsPackage(),
): tf.io.ModelArtifacts {
  const spec = NSFWJS_MODELS[name];
  const dir = path.join(pkg.dir, 'dist', 'models', spec.dir);
  const json = ModelJsonSchema.parse(requireOnce(path.join(dir, 'model.min.js')));
  const weights = readWeights(json.weightsManifest, (p) =>
    Buffer.from(z.string().parse(requireOnce(path.join(dir, `${p}.min.js`))), 'base64'),
  );
  return { modelTopology: json.modelTopology, ...weights, format: 'layers-model' };
}

/** Loads a bundled model as a tfjs LayersModel (any tfjs backend). */
export async function loadNsfwjsModel(
  name: NsfwjsModelName,
  pkg: NsfwjsPackage = nsfwjsPackage(),
): Promise<tf.LayersModel> {
  await ensureTf();
  return tf.loadLayersModel(tf.io.fromMemory(nsfwjsArtifacts(name, pkg)));
}

export function nsfwjsSource(name: NsfwjsModelName, pkg: NsfwjsPackage = nsfwjsPackage()): string {
  return `nsfwjs:${name}@${pkg.version}`;
}

/** Converts a loaded nsfwjs model with the package's labels and value range. */
export function convertNsfwjsModel(
  model: tf.LayersModel,
  name: NsfwjsModelName,
  pkg: NsfwjsPackage = nsfwjsPackage(),
  extraOutputs?: string[],
): ConvertedModel {
  return convertLayersModel(model, {
    source: nsfwjsSource(name, pkg),
    graphName: `nsfwjs_${NSFWJS_MODELS[name].dir}`,
    inputRange: [0, 1],
    labels: nsfwjsLabels(pkg),
    extraOutputs,
  });
}

/** Cache file of a converted bundled model: backbones/<name>-<hash>.onnx. */
export function nsfwjsCachePath(name: NsfwjsModelName, pkg: NsfwjsPackage = nsfwjsPackage()): string {
  const key = createHash('sha256').update(`nsfwjs@${pkg.version}\n${name}\n${CONVERTER_ID}`).digest('hex');
  return path.join(cacheRoot(), 'backbones', `nsfwjs-${NSFWJS_MODELS[name].dir}-${key.slice(0, 16)}.onnx`);
}

export interface CachedBackbone {
  path: string;
  bytes: Uint8Array;
  /** false when the file was converted by this call. */
  cached: boolean;
}

/**
 * ONNX bytes of a bundled model, converted once and cached. The file is written to a temporary
 * name and renamed, so concurrent callers never read a partial file.
 */
export async function nsfwjsOnnx(
  name: NsfwjsModelName,
  options: { log?: (message: string) => void } = {},
): Promise<CachedBackbone> {
  const pkg = nsfwjsPackage();
  const file = nsfwjsCachePath(name, pkg);
  if (fs.existsSync(file)) return { path: file, bytes: new Uint8Array(fs.readFileSync(file)), cached: true };
  const log = options.log ?? (() => {});
  log(`loading nsfwjs ${name} (${pkg.version}) ...`);
  const model = await loadNsfwjsModel(name, pkg);
  try {
    log(`converting ${model.layers.length} layers to ONNX ...`);
    const { bytes } = convertNsfwjsModel(model, name, pkg);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
    fs.writeFileSync(tmp, bytes);
    fs.renameSync(tmp, file);
    log(`cached ${file}`);
    return { path: file, bytes, cached: false };
  } finally {
    model.dispose();
  }
}
