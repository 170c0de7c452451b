import type { ObjectStore } from '../../shared/store/types.ts';
import { type EdgeServer, type EdgeServerOptions, startEdgeServer } from './edge-server.ts';
import { localBucketStore } from './miniflare.ts';
import { type MirrorStats, StoreMirror } from './mirror.ts';
import { PatientStore } from './patient-store.ts';

export interface LocalEdge extends EdgeServer {
  /** Copies changes between the store and local R2 now (the loop also does it periodically). */
  sync(): Promise<MirrorStats>;
}

/**
 * The edge function in workerd, with a store (file:// or s3://) mirrored into its local R2 bucket
 * both ways: models and routing published by the CLI appear at the edge, feedback and jobs written
 * by the edge appear in the store for `edgetune worker`.
 */
export async function startLocalEdge(
  store: ObjectStore,
  options: EdgeServerOptions & { syncIntervalMs?: number; onSyncError?: (e: unknown) => void } = {},
): Promise<LocalEdge> {
  const server = await startEdgeServer(options);
  // A deadline and retries on every mirror call all the same: a loaded machine can still leave
  // one unanswered, and one hung call would stall every later pass.
  const r2 = new PatientStore(await localBucketStore(server.mf), {
    onRetry: (what, attempt) =>
      console.warn(`local edge mirror: ${what} unanswered (try ${attempt}), trying again`),
  });
  const mirror = new StoreMirror(store, r2);
  // Serialise passes: a timer tick never overlaps an explicit sync().
  let running: Promise<MirrorStats> = Promise.resolve({ copiedToA: 0, copiedToB: 0, deleted: 0 });
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
      await running.catch(() => undefined);
      await server.dispose();
    },
  };
}
