import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Miniflare } from 'miniflare';
import { bundleWorker, projectRoot } from './bundle.ts';
import { createMiniflare } from './miniflare.ts';

export interface EdgeServerOptions {
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  /** Where local R2 data lives between runs (default `.edgetune/r2`). */
  persistDir?: string;
  adminToken?: string;
  feedbackToken?: string;
  /** Extra string variables for the Worker (override wrangler.toml's [vars]). */
  vars?: Record<string, string>;
  /** V8 inspector port for heap readings (off unless given; 0 = any free port). */
  inspectorPort?: number;
}

export interface EdgeServer {
  url: URL;
  mf: Miniflare;
  bundleBytes: number;
  /** Fires the Worker's `scheduled` handler, as the cron trigger would. */
  triggerScheduled(cron?: string): Promise<void>;
  dispose(): Promise<void>;
}

/** wrangler.toml [vars], read through wrangler's own config reader so both agree. */
async function readWranglerVars(): Promise<Record<string, string>> {
  const { unstable_readConfig } = await import('wrangler');
  const config = unstable_readConfig(
    { config: path.join(projectRoot, 'wrangler.toml') },
    { hideWarnings: true },
  );
  const vars: Record<string, string> = {};
  for (const [k, v] of Object.entries(config.vars ?? {}))
    vars[k] = typeof v === 'string' ? v : JSON.stringify(v);
  return vars;
}

/**
 * Runs the bundled Worker in workerd (Miniflare) with a persistent local R2 bucket bound as
 * MODELS: the same code path as production, on 127.0.0.1.
 */
export async function startEdgeServer(options: EdgeServerOptions = {}): Promise<EdgeServer> {
  // One build folder per server: several servers (tests, demo) may start at the same time.
  await mkdir(path.join(projectRoot, '.edgetune'), { recursive: true });
  const buildDir = await mkdtemp(path.join(projectRoot, '.edgetune', 'worker-build-'));
  const bundle = await bundleWorker(buildDir);
  const persistDir = path.resolve(options.persistDir ?? path.join(projectRoot, '.edgetune', 'r2'));
  const vars = { ...(await readWranglerVars()), ...(options.vars ?? {}) };
  const bindings: Record<string, string> = { ...vars };
  if (options.adminToken) bindings.ADMIN_TOKEN = options.adminToken;
  if (options.feedbackToken) bindings.FEEDBACK_TOKEN = options.feedbackToken;
  const mf = createMiniflare(bundle, {
    name: 'edgetune',
    r2Persist: persistDir,
    bindings,
    host: options.host,
    port: options.port,
    scheduledTrigger: true,
    inspectorPort: options.inspectorPort,
  });
  const url = await mf.ready;
  return {
    url,
    mf,
    bundleBytes: bundle.bytes,
    async triggerScheduled(cron = '*/15 * * * *') {
      const res = await fetch(new URL(`/cdn-cgi/handler/scheduled?cron=${encodeURIComponent(cron)}`, url), {
        signal: AbortSignal.timeout(60_000),
      });
      if (!res.ok) throw new Error(`scheduled handler failed: ${res.status} ${await res.text()}`);
    },
    async dispose() {
      await mf.dispose();
      await rm(buildDir, { recursive: true, force: true });
    },
  };
}
