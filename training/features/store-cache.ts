/**
 * The feature cache in an object store: `edgetune features --shard` uploads its shard's
 * activations under keys.featuresPrefix, and `edgetune train --store` downloads what is there
 * into the local cache before running the prefix on the rest. Objects are content-addressed and
 * written whole, so a repeated or resumed shard rewrites nothing it already uploaded.
 */
import type { ObjectStore } from '../../shared/store/types.ts';
import { keys, parseFeatureKey } from '../../shared/store/keys.ts';
import type { FeatureCache } from './cache.ts';

const CONCURRENCY = 8;

/** Image ids with an activation object in the store for this cache key. */
export async function storedFeatureIds(store: ObjectStore, cache: FeatureCache): Promise<Set<string>> {
  const { objects } = await store.list(keys.featuresPrefix(cache.key));
  const ids = new Set<string>();
  for (const o of objects) {
    const parsed = parseFeatureKey(o.key);
    if (parsed && o.size === cache.itemSize * 4) ids.add(parsed.imageId);
  }
  return ids;
}

/** Runs `fn` over `items`, CONCURRENCY at a time. */
async function eachLimited<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, items.length) }, lane));
}

/**
 * Copies the activations of `ids` that the store has into the local cache; returns the ids it
 * copied. Objects of the wrong size are ignored (the prefix then runs for them).
 */
export async function fetchStoredFeatures(
  store: ObjectStore,
  cache: FeatureCache,
  ids: readonly string[],
): Promise<Set<string>> {
  const present = await storedFeatureIds(store, cache);
  const wanted = [...new Set(ids)].filter((id) => present.has(id) && /^[0-9a-f]{64}$/.test(id));
  const fetched = new Set<string>();
  await eachLimited(wanted, async (id) => {
    const obj = await store.get(keys.feature(cache.key, id));
    if (!obj || obj.body.byteLength !== cache.itemSize * 4) return;
    const copy = new Uint8Array(obj.body);
    cache.write(id, new Float32Array(copy.buffer, 0, cache.itemSize));
    fetched.add(id);
  });
  return fetched;
}

/** Uploads the local cache's entries for `ids` (which must all be there). */
export async function uploadFeatures(
  store: ObjectStore,
  cache: FeatureCache,
  ids: readonly string[],
): Promise<void> {
  const row = new Float32Array(cache.itemSize);
  await eachLimited(ids, async (id) => {
    if (!cache.read(id, row, 0)) throw new Error(`internal: feature ${id} is not in the local cache`);
    await store.put(keys.feature(cache.key, id), new Uint8Array(row.buffer.slice(0)), {
      contentType: 'application/octet-stream',
    });
  });
}
