import { errorMessage } from '../shared/errors.ts';
import { routedVersions } from '../shared/routing/operations.ts';
import { RoutingDocSchema } from '../shared/routing/schema.ts';
import { isPreconditionFailed } from '../shared/store/cas.ts';
import {
  isEdgeOwnedKey,
  isRoutingKey,
  isTrainingOnlyKey,
  keys,
  MANIFEST_FILE,
  parseVersionKey,
} from '../shared/store/keys.ts';
import type { ObjectStore } from '../shared/store/types.ts';

/** Each side's ETag when the mirror last left the key in step (null: absent on that side). */
interface Seen {
  store: string | null;
  edge: string | null;
}

export interface MirrorStats {
  /** Objects written into the edge's bucket (training-owned or edge-owned). */
  copiedToEdge: number;
  /** Edge-owned objects and versions made at the edge written back into the store. */
  copiedToStore: number;
  deleted: number;
  /** Edge-owned keys changed on both sides since the previous pass (the store's copy was kept). */
  conflicts: number;
  /**
   * Routing documents not copied to the store this pass because they name a version the store
   * does not hold (yet); they are tried again next pass.
   */
  deferred: number;
}

export interface MirrorConflict {
  key: string;
  /** The store's ETag now (null: deleted in the store), which was kept. */
  storeEtag: string | null;
  /** The edge's ETag now (null: deleted at the edge), which was replaced. */
  edgeEtag: string | null;
}

export interface MirrorOptions {
  /** Copies in flight at once (default 8): enough to hide latency, few enough to bound memory. */
  concurrency?: number;
  /** Told about every conflict; the default prints a warning. */
  onConflict?: (conflict: MirrorConflict) => void;
}

type Op = { key: string; rank: number; run: () => Promise<Seen | null> };

/** What one pass's listings say about version folders. */
interface Listing {
  /** Version folders (`models/x/versions/v/`) with at least one object in the store. */
  storeVersions: Set<string>;
  /** Version folders whose manifest is at the edge. */
  edgeManifests: Set<string>;
}

function versionFolder(key: string): string | null {
  const v = parseVersionKey(key);
  return v ? keys.versionPrefix(v.name, v.version) : null;
}

/**
 * The order in which a pass applies its changes, so that a reader on either side never sees a
 * name before the thing it names: files first, then manifests (which make a version visible), then
 * routing documents (which send traffic to versions); deletions the other way round.
 */
function copyRank(key: string): number {
  if (isRoutingKey(key)) return 2;
  return key.endsWith(`/${MANIFEST_FILE}`) ? 1 : 0;
}
function deleteRank(key: string): number {
  return 4 - copyRank(key);
}

/** Runs `tasks` with at most `limit` in flight; rejects with the first failure once all settled. */
async function runBounded(tasks: (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const task = tasks[next++]!;
      await task().catch((e: unknown) => errors.push(e));
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  if (errors.length > 0) throw errors[0];
}

/**
 * Mirror between a store (file:// or s3://, where the CLI publishes and the worker writes jobs)
 * and a local edge's R2 bucket. Training-owned keys flow one way, store → edge: the edge's copy is
 * made to match the store, and nothing the edge changes under those keys is ever written back.
 * The one exception is a whole new version made at the edge (a prototype version created through
 * the admin API): the user asked for it, and the edge's routing may already send traffic to it, so
 * once its manifest is there it is copied to the store create-only (files, then the manifest), and
 * from then on it follows the store like any other version. A routing document goes to the store
 * only when every version it names is in the store, so the store never routes to a version it
 * does not have.
 * Edge-owned keys (`EDGE_OWNED_KEYS`) flow both ways; when one changed on both sides since the
 * previous pass, that is a conflict: it is reported and the store's copy is kept (a routing change
 * that lost is still in the routing history, which only ever gains new keys). ETags of the two
 * implementations are not comparable, so the mirror remembers each side's last ETag instead.
 */
export class StoreMirror {
  private readonly seen = new Map<string, Seen>();
  /** Edge-made version folders whose copy to the store lost to the store's own this pass. */
  private readonly lostFolders = new Set<string>();
  private readonly concurrency: number;
  private readonly onConflict: (c: MirrorConflict) => void;

  constructor(
    private readonly store: ObjectStore,
    private readonly edge: ObjectStore,
    options: MirrorOptions = {},
  ) {
    this.concurrency = Math.max(1, options.concurrency ?? 8);
    this.onConflict =
      options.onConflict ??
      ((c) =>
        console.warn(
          `local edge mirror: conflict on ${c.key}: changed in the store and at the edge since the last pass; kept the store's copy`,
        ));
  }

  async syncOnce(): Promise<MirrorStats> {
    const stats: MirrorStats = { copiedToEdge: 0, copiedToStore: 0, deleted: 0, conflicts: 0, deferred: 0 };
    const [listStore, listEdge] = await Promise.all([this.store.list(''), this.edge.list('')]);
    const etagStore = new Map(listStore.objects.map((o) => [o.key, o.etag]));
    const etagEdge = new Map(listEdge.objects.map((o) => [o.key, o.etag]));
    const listing: Listing = {
      storeVersions: new Set(listStore.objects.flatMap((o) => versionFolder(o.key) ?? [])),
      edgeManifests: new Set(
        listEdge.objects.flatMap((o) => (o.key.endsWith(`/${MANIFEST_FILE}`) && versionFolder(o.key)) || []),
      ),
    };
    this.lostFolders.clear();
    const ops: Op[] = [];
    for (const key of new Set([...etagStore.keys(), ...etagEdge.keys(), ...this.seen.keys()])) {
      const op = this.plan(key, etagStore.get(key) ?? null, etagEdge.get(key) ?? null, stats, listing);
      if (op) ops.push(op);
    }
    // One rank at a time, in parallel within a rank: a failed file copy stops the pass before the
    // manifest that would make its version visible.
    for (let rank = 0; rank <= 4; rank++) {
      const batch = ops.filter((o) => o.rank === rank);
      await runBounded(
        batch.map((o) => async () => {
          const seen = await o.run();
          if (seen) this.seen.set(o.key, seen);
          else this.seen.delete(o.key);
        }),
        this.concurrency,
      );
    }
    return stats;
  }

  private plan(
    key: string,
    es: string | null,
    ee: string | null,
    stats: MirrorStats,
    listing: Listing,
  ): Op | null {
    const prev = this.seen.get(key);
    if (es === null && ee === null) {
      this.seen.delete(key);
      return null;
    }
    if (isTrainingOnlyKey(key)) return null;
    if (!isEdgeOwnedKey(key)) {
      const folder = versionFolder(key);
      if (!prev && es === null && ee !== null && folder && !listing.storeVersions.has(folder)) {
        // A version the store has never had, made at the edge: wait for its manifest (written
        // last), then copy it to the store.
        return listing.edgeManifests.has(folder) ? this.copy(key, 'toStore', ee, stats, true) : null;
      }
      // One way: the edge's copy follows the store, whatever happened to it at the edge.
      if (prev && prev.store === es && prev.edge === ee) return null;
      return es === null ? this.remove(key, this.edge, stats) : this.copy(key, 'toEdge', es, stats);
    }
    const changedStore = prev ? es !== prev.store : es !== null;
    const changedEdge = prev ? ee !== prev.edge : ee !== null;
    if (changedStore && changedEdge) {
      stats.conflicts++;
      this.onConflict({ key, storeEtag: es, edgeEtag: ee });
      return es === null ? this.remove(key, this.edge, stats) : this.copy(key, 'toEdge', es, stats);
    }
    if (changedStore) {
      return es === null ? this.remove(key, this.edge, stats) : this.copy(key, 'toEdge', es, stats);
    }
    if (changedEdge) {
      return ee === null ? this.remove(key, this.store, stats) : this.copy(key, 'toStore', ee, stats);
    }
    return null;
  }

  private remove(key: string, from: ObjectStore, stats: MirrorStats): Op {
    return {
      key,
      rank: deleteRank(key),
      run: async () => {
        // Only ever called when the other side has no object at `key`: both are now absent.
        await from.delete(key);
        stats.deleted++;
        return null;
      },
    };
  }

  /** Whether every version `body` (a routing document) sends traffic to is in the store. */
  private async routesToStoredVersions(key: string, body: Uint8Array): Promise<boolean> {
    const name = key.split('/')[1]!;
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(body));
    } catch {
      return true;
    }
    const parsed = RoutingDocSchema.safeParse(json);
    // Not a routing document (readers refuse it): copying it names no version.
    if (!parsed.success) return true;
    const found = await Promise.all(
      routedVersions(parsed.data).map((v) => this.store.head(keys.manifest(name, v))),
    );
    return found.every((h) => h !== null);
  }

  private copy(
    key: string,
    direction: 'toEdge' | 'toStore',
    sourceEtag: string,
    stats: MirrorStats,
    createOnly = false,
  ): Op {
    const [from, to] = direction === 'toEdge' ? [this.store, this.edge] : [this.edge, this.store];
    return {
      key,
      rank: copyRank(key),
      run: async () => {
        const object = await from.get(key);
        // Gone since the listing: the next pass sees the deletion.
        if (!object) return this.seen.get(key) ?? null;
        const folder = createOnly ? versionFolder(key) : null;
        // Never the manifest of a version whose files did not all make it.
        if (folder && this.lostFolders.has(folder)) return null;
        if (
          direction === 'toStore' &&
          isRoutingKey(key) &&
          !(await this.routesToStoredVersions(key, object.body))
        ) {
          stats.deferred++;
          console.warn(
            `local edge mirror: ${key} at the edge names a version the store does not have; not copied to the store this pass`,
          );
          return this.seen.get(key) ?? null;
        }
        let written: string;
        try {
          written = (await to.put(key, object.body, createOnly ? { ifNoneMatch: '*' } : {})).etag;
        } catch (e) {
          if (createOnly && isPreconditionFailed(e)) {
            // The store got a version of that name meanwhile: it owns it, and the edge's copy
            // follows it from the next pass.
            if (folder) this.lostFolders.add(folder);
            stats.conflicts++;
            this.onConflict({ key, storeEtag: (await to.head(key))?.etag ?? null, edgeEtag: sourceEtag });
            return null;
          }
          throw new Error(`copying ${key} to ${to.url}: ${errorMessage(e)}`, { cause: e });
        }
        if (direction === 'toEdge') stats.copiedToEdge++;
        else stats.copiedToStore++;
        // The listed ETag, not the one `get` reported: implementations may format them differently,
        // and a write after the listing then merely shows up as a change (copied again) next pass.
        return direction === 'toEdge'
          ? { store: sourceEtag, edge: written }
          : { store: written, edge: sourceEtag };
      },
    };
  }
}
