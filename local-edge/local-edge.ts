import { errorMessage } from '../shared/errors.ts';
import type { ObjectStore } from '../shared/store/types.ts';
import { type EdgeServer, type EdgeServerOptions, startEdgeServer } from './edge-server.ts';
import { localBucketStore } from './miniflare.ts';
import { type MirrorConflict, type MirrorStats, StoreMirror } from './mirror.ts';
import { PatientStore } from './patient-store.ts';

export interface LocalEdge extends EdgeServer {
  /** Copies changes between the store and local R2 now (the loop also does it periodically). */
  sync(): Promise<MirrorStats>;
}

export interface LocalEdgeOptions extends EdgeServerOptions {
  /** Milliseconds between mirror passes (default 1000; 0 = only at start, on sync() and at dispose). */
  syncIntervalMs?: number;
  onSyncError?: (e: unknown) => void;
  onConflict?: (conflict: MirrorConflict) => void;
  /** Copies in flight at once per mirror pass (default 8). */
  syncConcurrency?: number;
}

/**
 * The edge function in workerd, with a store (file:// or s3://) mirrored into a local R2 bucket
 * of its own. The bucket's state is private to this server (a new temporary folder unless the
 * caller passes one), so two servers never mix stores, and it starts empty: the first mirror pass
 * copies the store in (files, then manifests, then routing) before the server is returned, so it
 * is ready when its URL is known. Training-owned objects flow store → edge only; what the edge
 * writes (routing changes, feedback, shadow counters, metrics, jobs, and whole new versions made
 * through its admin API) flows back to the store (see StoreMirror).
 */
export async function startLocalEdge(store: ObjectStore, options: LocalEdgeOptions = {}): Promise<LocalEdge> {
  const server = await startEdgeServer(options);
  try {
    // A deadline and retries on every mirror call all the same: a loaded machine can still leave
    // one unanswered, and one hung call would stall every later pass.
    const r2 = new PatientStore(await localBucketStore(server.mf, `r2://local-edge/${server.url.port}`), {
      onRetry: (what, attempt) =>
        console.warn(`local edge mirror: ${what} unanswered (try ${attempt}), trying again`),
    });
    const mirror = new StoreMirror(store, r2, {
      concurrency: options.syncConcurrency,
      onConflict: options.onConflict,
    });
    // Serialise passes: a timer tick never overlaps an explicit sync().
    let running: Promise<MirrorStats> = Promise.resolve({
      copiedToEdge: 0,
      copiedToStore: 0,
      deleted: 0,
      conflicts: 0,
      deferred: 0,
    });
    const sync = (): Promise<MirrorStats> => {
      running = running.catch(() => undefined).then(() => mirror.syncOnce());
      return running;
    };
    await sync();
    const interval = options.syncIntervalMs ?? 1000;
    const timer =
      interval > 0
        ? setInterval(() => {
            sync().catch((e: unknown) => options.onSyncError?.(e));
          }, interval)
        : undefined;
    timer?.unref();
    return {
      ...server,
      sync,
      async dispose() {
        if (timer) clearInterval(timer);
        try {
          // What the edge wrote since the last pass (feedback, routing changes) reaches the store.
          await sync();
        } catch (e) {
          (options.onSyncError ?? ((x: unknown) => console.warn(`local edge mirror: ${errorMessage(x)}`)))(e);
        } finally {
          await server.dispose();
        }
      },
    };
  } catch (e) {
    await server.dispose().catch(() => undefined);
    throw e;
  }
}
