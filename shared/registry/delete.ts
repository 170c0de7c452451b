import { EdgetuneError } from '../errors.ts';
import { assertName } from '../names.ts';
import { keys } from '../store/keys.ts';
import type { ObjectStore } from '../store/types.ts';
import { readRouting, routedVersions, updateRouting } from '../routing/operations.ts';

export interface DeleteResult {
  name: string;
  version: string;
  /** Keys removed (the manifest first). */
  deleted: string[];
  /** False when the version was never visible (leftovers of a crashed publish were cleaned). */
  wasVisible: boolean;
}

/**
 * Deletes a version, refused while routing sends it any traffic (stable, candidate or shadow).
 *
 * Race with a concurrent rollout to the same version: the manifest goes first (the version is
 * invisible from then on, so a rollout that checks existence afterwards is refused), then the
 * routing document is rewritten with compare-and-swap while asserting the version is unrouted. A
 * rollout that had checked existence before the manifest went away either lands before that CAS
 * (we see it, restore the manifest and refuse) or after it (its own CAS fails, it re-checks and
 * is refused). Either way routing never points at a deleted version.
 */
export async function deleteVersion(
  store: ObjectStore,
  name: string,
  version: string,
): Promise<DeleteResult> {
  assertName('model', name);
  assertName('version', version);
  const refuse = (where: string) =>
    new EdgetuneError(
      'conflict',
      `refusing to delete ${name} ${version}: it is routed (${where}); promote or roll out another version first`,
    );
  const where = (doc: Parameters<typeof routedVersions>[0]) =>
    doc.stable === version ? 'stable' : doc.shadow?.version === version ? 'shadow' : 'candidate';

  const routing = await readRouting(store, name);
  if (routing && routedVersions(routing.doc).includes(version)) throw refuse(where(routing.doc));

  const manifestKey = keys.manifest(name, version);
  const manifest = await store.get(manifestKey);
  const { objects } = await store.list(keys.versionPrefix(name, version));
  if (!manifest && objects.length === 0)
    throw new EdgetuneError('not_found', `model ${name} has no version ${version}`);

  const deleted: string[] = [];
  if (manifest) {
    await store.delete(manifestKey);
    deleted.push(manifestKey);
    if (routing) {
      try {
        await updateRouting(
          store,
          name,
          'delete-version',
          (cur) => {
            if (cur && routedVersions(cur).includes(version)) throw refuse(where(cur));
            return cur;
          },
          { reason: `delete ${version}` },
        );
      } catch (e) {
        await store
          .put(manifestKey, manifest.body, { ifNoneMatch: '*', contentType: 'application/json' })
          .catch(() => {});
        throw e;
      }
    }
  }
  for (const o of objects) {
    if (o.key === manifestKey) continue;
    await store.delete(o.key);
    deleted.push(o.key);
  }
  return { name, version, deleted, wasVisible: manifest !== null };
}
