/**
 * Readiness with KServe semantics: ready means every request the routing can produce will find
 * its version. A model is ready when its routing document is readable and every version it routes
 * to (stable, candidates, shadow) has a readable manifest; without a routing document the newest
 * version is what gets served, so that one's manifest must be readable. The edge is ready when
 * every model in the bucket is. Routing is read from storage, not the per-isolate cache, so a
 * probe reports what the next routing refresh will see.
 */
import { EdgetuneError, errorMessage } from '../../shared/errors.ts';
import { listModelNames } from '../../shared/registry/models.ts';
import { readRouting, routedVersions } from '../../shared/routing/operations.ts';
import { latestVersionId } from '../../shared/registry/versions.ts';
import type { ObjectStore } from '../../shared/store/types.ts';
import type { ModelCache } from './models.ts';

/** Throws EdgetuneError('not_ready') naming the first thing missing; returns the versions checked. */
export async function assertModelReady(
  store: ObjectStore,
  cache: ModelCache,
  name: string,
): Promise<string[]> {
  let versions: string[];
  try {
    const routing = await readRouting(store, name);
    if (routing) {
      versions = routedVersions(routing.doc);
    } else {
      const newest = await latestVersionId(store, name);
      versions = newest ? [newest] : [];
    }
  } catch (e) {
    throw new EdgetuneError('not_ready', `model ${name}: routing is not readable: ${errorMessage(e)}`);
  }
  for (const version of versions) {
    try {
      await cache.manifest(name, version);
    } catch (e) {
      throw new EdgetuneError(
        'not_ready',
        `model ${name}: routed version ${version} has no readable manifest yet: ${errorMessage(e)}`,
      );
    }
  }
  return versions;
}

export async function assertEdgeReady(store: ObjectStore, cache: ModelCache): Promise<void> {
  for (const name of await listModelNames(store)) await assertModelReady(store, cache, name);
}
