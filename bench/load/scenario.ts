/**
 * The models and traffic of `npm run load`: two models with two versions each (one of them on
 * onnxruntime-web, so sessions of both engines churn), weighted and sticky traffic, some pinned
 * requests, and the admin changes an operator makes while it runs.
 */
import { publishVersion } from '../../shared/registry/publish.ts';
import { rollout } from '../../shared/routing/operations.ts';
import { keys } from '../../shared/store/keys.ts';
import type { ObjectStore } from '../../shared/store/types.ts';
import { type EdgeExport, edgeExport, edgeImages, edgeOrtOnlyExport } from '../edge-models.ts';

export const MODELS = ['load-a', 'load-b'] as const;
export type LoadModel = (typeof MODELS)[number];

/** The corrupt version published mid-run (a damaged upload: its model file no longer matches). */
export const CORRUPT = { model: 'load-a' as LoadModel, version: 'v3' };

const EXPORTS: Record<LoadModel, () => EdgeExport[]> = {
  'load-a': () => [edgeExport(11), edgeExport(22)],
  'load-b': () => [edgeExport(33), edgeOrtOnlyExport()],
};

/** Canary weights of v2 while the run starts (and after each admin cycle's rollout). */
export const CANARY_WEIGHT: Record<LoadModel, number> = { 'load-a': 30, 'load-b': 50 };

export async function publishModels(store: ObjectStore): Promise<void> {
  for (const model of MODELS) {
    for (const exp of EXPORTS[model]()) {
      await publishVersion(store, model, { manifest: { ...exp.manifest, name: model }, files: exp.files });
    }
    await rollout(store, model, 'v2', CANARY_WEIGHT[model], { reason: 'load: initial canary' });
  }
}

/**
 * Publishes a valid export into `scratch`, then copies it into `store` with the model files'
 * bytes flipped and the manifest last: what a damaged upload looks like to the edge.
 */
export async function publishCorrupt(store: ObjectStore, scratch: ObjectStore): Promise<void> {
  const { model, version } = CORRUPT;
  for (const seed of [11, 22, 55]) {
    const exp = edgeExport(seed);
    await publishVersion(scratch, model, { manifest: { ...exp.manifest, name: model }, files: exp.files });
  }
  const prefix = keys.versionPrefix(model, version);
  const { objects } = await scratch.list(prefix);
  const manifestKey = keys.manifest(model, version);
  for (const o of [...objects.filter((x) => x.key !== manifestKey), { key: manifestKey }]) {
    const obj = await scratch.get(o.key);
    if (!obj) continue;
    const body = obj.body.slice();
    if (o.key.endsWith('.onnx')) body[body.length >> 1]! ^= 0xff;
    await store.put(o.key, body);
  }
}

export const IMAGES = edgeImages();

export type Mode = 'sticky' | 'weighted' | 'pinned';

export interface PlannedRequest {
  model: LoadModel;
  endpoint: 'classify' | 'embed';
  mode: Mode;
  userKey?: string;
  pinned?: string;
  image: (typeof IMAGES)[number];
}

/** Request `i` of the run, from a seeded random source (the same run every time). */
export function planRequest(
  i: number,
  rng: () => number,
  pinnable: (model: LoadModel) => string[],
): PlannedRequest {
  const model = MODELS[i % MODELS.length]!;
  const endpoint = rng() < 0.2 ? 'embed' : 'classify';
  const image = IMAGES[i % IMAGES.length]!;
  const r = rng();
  if (r < 0.55) return { model, endpoint, mode: 'sticky', userKey: `user-${Math.floor(rng() * 500)}`, image };
  if (r < 0.9) return { model, endpoint, mode: 'weighted', image };
  const versions = pinnable(model);
  return { model, endpoint, mode: 'pinned', pinned: versions[Math.floor(rng() * versions.length)]!, image };
}

/** One admin cycle per model, repeated: a canary rollout, a promote, a rollback. */
export function adminStep(model: LoadModel, n: number): { path: string; body: unknown } {
  const step = n % 3;
  if (step === 0)
    return { path: `/admin/models/${model}/rollout`, body: { version: 'v2', weight: CANARY_WEIGHT[model] } };
  if (step === 1) return { path: `/admin/models/${model}/promote`, body: { version: 'v2', reason: 'load' } };
  return { path: `/admin/models/${model}/rollback`, body: { reason: 'load' } };
}
