import { Miniflare } from 'miniflare';
import type { WorkerBundle } from './bundle.ts';

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
}

/**
 * A workerd process (Miniflare) running a wrangler bundle with the MODELS R2 bucket, configured
 * like production (wrangler.toml's compatibility date, no nodejs_compat). Used by the local edge
 * server and the benchmarks, so both measure the same runtime set-up.
 */
export function createMiniflare(bundle: WorkerBundle, options: MiniflareOptions): Miniflare {
  return new Miniflare({
    name: options.name,
    modules: bundle.modules,
    modulesRoot: bundle.dir,
    compatibilityDate: '2026-04-20',
    r2Buckets: { MODELS: 'edgetune-models' },
    r2Persist: options.r2Persist,
    bindings: options.bindings ?? {},
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    ...(options.scheduledTrigger ? { unsafeTriggerHandlers: true } : {}),
    ...(options.inspectorPort === undefined ? {} : { inspectorPort: options.inspectorPort }),
  });
}
