import path from 'node:path';
import type { Miniflare } from 'miniflare';
import { bundleWorker, projectRoot, type WorkerBuild, wranglerEnv } from './bundle.ts';
import { createMiniflare } from './miniflare.ts';
import { makeTempDir, removeTempDir } from './temp-dirs.ts';

export interface EdgeServerOptions {
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  /**
   * Where the local R2 bucket keeps its data. Default: a new temporary folder of this server's
   * own, removed by dispose(); a folder given here is the caller's and is left in place.
   */
  persistDir?: string;
  adminToken?: string;
  feedbackToken?: string;
  /** Extra string variables for the Worker (override wrangler.toml's [vars]). */
  vars?: Record<string, string>;
  /** Which Worker build runs (default `engine`: no onnxruntime-web; `full` adds it). */
  build?: WorkerBuild;
  /** V8 inspector port for heap readings (off unless given; 0 = any free port). */
  inspectorPort?: number;
  /** Each line the Worker prints (default: standard error). */
  onWorkerOutput?: (line: string) => void;
}

export interface EdgeServer {
  url: URL;
  mf: Miniflare;
  bundleBytes: number;
  build: WorkerBuild;
  /** Fires the Worker's `scheduled` handler, as the cron trigger would. */
  triggerScheduled(cron?: string): Promise<void>;
  dispose(): Promise<void>;
}

/** wrangler.toml [vars], read through wrangler's own config reader so both agree. */
export async function readWranglerVars(build: WorkerBuild = 'engine'): Promise<Record<string, string>> {
  const { unstable_readConfig } = await import('wrangler');
  const config = unstable_readConfig(
    { config: path.join(projectRoot, 'wrangler.toml'), env: wranglerEnv(build) || undefined },
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
  const buildDir = makeTempDir('worker-build');
  const ownState = options.persistDir === undefined;
  const persistDir = ownState ? makeTempDir('r2') : path.resolve(options.persistDir!);
  const cleanUp = async () => {
    await removeTempDir(buildDir);
    if (ownState) await removeTempDir(persistDir);
  };
  const build = options.build ?? 'engine';
  let bundle: Awaited<ReturnType<typeof bundleWorker>>;
  try {
    bundle = await bundleWorker(buildDir, { build });
  } catch (e) {
    await cleanUp();
    throw e;
  }
  const vars = { ...(await readWranglerVars(build)), ...(options.vars ?? {}) };
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
    onWorkerOutput: options.onWorkerOutput,
  });
  let url: URL;
  try {
    url = await mf.ready;
  } catch (e) {
    await mf.dispose().catch(() => undefined);
    await cleanUp();
    throw e;
  }
  return {
    url,
    mf,
    bundleBytes: bundle.bytes,
    build,
    async triggerScheduled(cron = '*/15 * * * *') {
      const res = await fetch(new URL(`/cdn-cgi/handler/scheduled?cron=${encodeURIComponent(cron)}`, url), {
        signal: AbortSignal.timeout(60_000),
      });
      if (!res.ok) throw new Error(`scheduled handler failed: ${res.status} ${await res.text()}`);
    },
    async dispose() {
      try {
        await mf.dispose();
      } finally {
        await cleanUp();
      }
    },
  };
}
