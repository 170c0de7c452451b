/**
 * Loading a tfjs layers model (model.json + weight shards) from the local disk. tfjs' own
 * `file://` handler lives in tfjs-node, which cannot be installed here, so this is the small
 * IOHandler that reads the files with fs. No network access.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { EdgetuneError, errorMessage } from '../../shared/errors.ts';

/** model.json's weightsManifest: groups of shard paths and the weights they hold, in order. */
export const WeightsManifestSchema = z.array(
  z.object({ paths: z.array(z.string()), weights: z.array(z.custom<tf.io.WeightsManifestEntry>()) }),
);
export type WeightsManifest = z.infer<typeof WeightsManifestSchema>;

const ModelJsonSchema = z.object({
  format: z.string().optional(),
  generatedBy: z.string().optional(),
  convertedBy: z.string().nullish(),
  modelTopology: z.record(z.string(), z.unknown()),
  weightsManifest: WeightsManifestSchema.default([]),
});

/**
 * The weight specs and one contiguous weight buffer of a manifest, reading each shard (by its
 * manifest path) with `readShard`: the shards are concatenated in manifest order, as tfjs does.
 */
export function readWeights(
  manifest: WeightsManifest,
  readShard: (shardPath: string) => Uint8Array,
): Pick<tf.io.ModelArtifacts, 'weightSpecs' | 'weightData'> {
  const chunks = manifest.flatMap((group) => group.paths.map(readShard));
  const weightData = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const c of chunks) {
    weightData.set(c, offset);
    offset += c.length;
  }
  return { weightSpecs: manifest.flatMap((g) => g.weights), weightData: weightData.buffer };
}

/**
 * tfjs' ReLU layer silently drops Keras' `negative_slope` and `threshold`, so a model using them
 * would neither run in tfjs nor convert as it did in Keras: refuse it by name instead.
 */
export function assertTfjsFaithful(topology: unknown): void {
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) {
      for (const item of v) visit(item);
      return;
    }
    if (v === null || typeof v !== 'object') return;
    const o = v as Record<string, unknown>;
    if (o.class_name === 'ReLU' && o.config && typeof o.config === 'object') {
      const c = o.config as Record<string, unknown>;
      for (const key of ['negative_slope', 'threshold']) {
        if (typeof c[key] === 'number' && c[key] !== 0) {
          throw new EdgetuneError(
            'unsupported',
            `layer '${String(c.name)}' of class ReLU is not supported: ${key}=${c[key]} (tfjs ignores it)`,
          );
        }
      }
    }
    for (const child of Object.values(o)) visit(child);
  };
  visit(topology);
}

/** Reads model.json and its shards into tfjs ModelArtifacts. */
export function readTfjsArtifacts(modelJsonPath: string): tf.io.ModelArtifacts {
  const file = path.resolve(modelJsonPath);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new EdgetuneError('not_found', `cannot read tfjs model ${file}: ${errorMessage(e)}`, { cause: e });
  }
  const parsed = ModelJsonSchema.safeParse(raw);
  if (!parsed.success) {
    throw new EdgetuneError(
      'bad_request',
      `${file} is not a tfjs model.json: ${parsed.error.issues[0]?.message}`,
    );
  }
  const json = parsed.data;
  if (json.format === 'graph-model' || 'node' in json.modelTopology) {
    throw new EdgetuneError(
      'unsupported',
      `${file} is a tfjs graph model; only layers models (Keras) can be converted`,
    );
  }
  assertTfjsFaithful(json.modelTopology);
  const dir = path.dirname(file);
  const weights = readWeights(json.weightsManifest, (p) => {
    if (/^[a-z]+:\/\//i.test(p))
      throw new EdgetuneError('unsupported', `weight path ${p} is a URL; only local files`);
    const shard = path.resolve(dir, p);
    try {
      return fs.readFileSync(shard);
    } catch (e) {
      throw new EdgetuneError('not_found', `cannot read weight shard ${shard}: ${errorMessage(e)}`, {
        cause: e,
      });
    }
  });
  return {
    modelTopology: json.modelTopology,
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy ?? undefined,
    ...weights,
  };
}

export async function loadTfjsLayersModel(modelJsonPath: string): Promise<tf.LayersModel> {
  try {
    return await tf.loadLayersModel(tf.io.fromMemory(readTfjsArtifacts(modelJsonPath)));
  } catch (e) {
    if (e instanceof EdgetuneError) throw e;
    throw new EdgetuneError('unsupported', `tfjs cannot load ${modelJsonPath}: ${errorMessage(e)}`, {
      cause: e,
    });
  }
}

/** Writes a tfjs layers model as model.json + one weights shard (used by tests and tools). */
export async function saveTfjsLayersModel(model: tf.LayersModel, dir: string): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weightsFile = 'group1-shard1of1.bin';
      const data = artifacts.weightData;
      const bytes =
        data === undefined
          ? new Uint8Array()
          : Array.isArray(data)
            ? new Uint8Array(tf.io.concatenateArrayBuffers(data))
            : new Uint8Array(data);
      fs.writeFileSync(path.join(dir, weightsFile), bytes);
      const modelJson = {
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: [weightsFile], weights: artifacts.weightSpecs ?? [] }],
      };
      fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(modelJson));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return path.join(dir, 'model.json');
}
