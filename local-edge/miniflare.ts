import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Miniflare } from 'miniflare';
import { R2Store } from '../shared/store/r2.ts';
import type { ObjectStore } from '../shared/store/types.ts';
import type { WorkerBundle } from './bundle.ts';
import { bridgeBucket, R2_BRIDGE_WORKER, type WorkerFetcher } from './r2-bridge.ts';

const BRIDGE_SCRIPT = fileURLToPath(new URL('./r2-bridge-worker.js', import.meta.url));

export interface MiniflareOptions {
  /** Worker name as Miniflare reports it. */
  name: string;
  /** Directory holding the local R2 data bound as MODELS (shared between instances). */
  r2Persist: string;
  /** String variables and secrets for the Worker's env. */
  bindings?: Record<string, string>;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Exposes /cdn-cgi/handler/scheduled so tests can fire the cron handler. */
  scheduledTrigger?: boolean;
  /** Opens the V8 inspector on this loopback port (0 = any): heap readings in `npm run load`. */
  inspectorPort?: number;
  /**
   * Each line the Worker prints (console.log in the isolate: the request log among them). Default:
   * standard error, so a CLI's `--json` output on standard output stays one JSON document.
   */
  onWorkerOutput?: (line: string) => void;
}

/**
 * A workerd process (Miniflare) running a wrangler bundle with the MODELS R2 bucket, configured
 * like production (wrangler.toml's compatibility date, no nodejs_compat). Used by the local edge
 * server and the benchmarks, so both measure the same runtime set-up.
 */
export function createMiniflare(bundle: WorkerBundle, options: MiniflareOptions): Miniflare {
  const r2Buckets = { MODELS: 'edgetune-models' };
  return new Miniflare({
    r2Persist: options.r2Persist,
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    ...(options.scheduledTrigger ? { unsafeTriggerHandlers: true } : {}),
    ...(options.inspectorPort === undefined ? {} : { inspectorPort: options.inspectorPort }),
    handleRuntimeStdio: (stdout: Readable, stderr: Readable) => {
      const out = options.onWorkerOutput ?? ((line: string) => process.stderr.write(`${line}\n`));
      createInterface(stdout).on('line', out);
      createInterface(stderr).on('line', (line) => process.stderr.write(`${line}\n`));
    },
    workers: [
      // The first Worker gets every request to the server's port.
      {
        name: options.name,
        modules: bundle.modules,
        modulesRoot: bundle.dir,
        compatibilityDate: '2026-04-20',
        r2Buckets,
        bindings: options.bindings ?? {},
      },
      // Reached only through `mf.getWorker(R2_BRIDGE_WORKER)`: Node's way into the same bucket.
      {
        name: R2_BRIDGE_WORKER,
        modules: true,
        scriptPath: BRIDGE_SCRIPT,
        compatibilityDate: '2026-04-20',
        r2Buckets,
      },
    ],
  });
}

/** The local edge's R2 bucket as an ObjectStore, through the bridge Worker. */
export async function localBucketStore(mf: Miniflare, url = 'r2://local/MODELS'): Promise<ObjectStore> {
  const worker = await mf.getWorker(R2_BRIDGE_WORKER);
  return new R2Store(bridgeBucket(worker as unknown as WorkerFetcher), { url });
}
