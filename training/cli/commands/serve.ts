import type { Command } from 'commander';
import { z } from 'zod';
import { EdgetuneError, errorMessage } from '../../../shared/errors.ts';
import { WORKER_BUILDS, type WorkerBuild } from '../../../local-edge/bundle.ts';
import type { LocalEdge } from '../../../local-edge/local-edge.ts';
import { startLocalEdgeLazily } from '../../../local-edge/load.ts';
import { DEFAULT_STORE_URL, openStore } from '../../../shared/store/node/open.ts';
import { log, printResult } from '../output.ts';
import { numberFlag } from './store-options.ts';

const Options = z.object({
  store: z.string(),
  port: z.string(),
  host: z.string(),
  adminToken: z.string().optional(),
  feedbackToken: z.string().optional(),
  syncInterval: z.string(),
  build: z.string(),
  json: z.boolean().optional(),
});

/** How long a stopping server may take to copy the edge's last writes and shut workerd down. */
const STOP_DEADLINE_MS = 20_000;
/** How long `serve` waits for /v2/health/ready after the first mirror pass before it says why not. */
const READY_DEADLINE_MS = 60_000;

function integerFlag(flag: string, raw: string, min: number, max: number): number {
  const n = numberFlag(flag, raw, min, max);
  if (!Number.isInteger(n))
    throw new EdgetuneError('bad_request', `${flag} must be a whole number, got ${JSON.stringify(raw)}`);
  return n;
}

function tokenFlag(flag: string, value: string | undefined): string | undefined {
  if (value !== undefined && value.length < 8)
    throw new EdgetuneError('bad_request', `${flag} must be at least 8 characters long`);
  return value;
}

function buildFlag(raw: string): WorkerBuild {
  const build = WORKER_BUILDS.find((b) => b === raw);
  if (!build)
    throw new EdgetuneError(
      'bad_request',
      `--build must be one of ${WORKER_BUILDS.join(', ')}, got ${JSON.stringify(raw)}`,
    );
  return build;
}

/** Polls the edge's own readiness endpoint; resolves with null when ready, else the last reason. */
async function waitReady(url: URL): Promise<string | null> {
  const deadline = Date.now() + READY_DEADLINE_MS;
  let reason = 'no answer';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(new URL('/v2/health/ready', url), { signal: AbortSignal.timeout(10_000) });
      const text = await res.text();
      if (res.ok) return null;
      reason = `${res.status} ${text.slice(0, 300)}`;
    } catch (e) {
      reason = errorMessage(e);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return reason;
}

export function register(program: Command): void {
  program
    .command('serve')
    .description(
      'run the edge function locally in workerd, with the store mirrored into a private local R2 bucket',
    )
    .option('--store <url>', 'object store to serve from', process.env.EDGETUNE_STORE || DEFAULT_STORE_URL)
    .option('--port <n>', 'port (0 = any free port)', '8787')
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--admin-token <t>', 'ADMIN_TOKEN for /admin (default: $ADMIN_TOKEN)', process.env.ADMIN_TOKEN)
    .option(
      '--feedback-token <t>',
      'FEEDBACK_TOKEN for feedback (default: $FEEDBACK_TOKEN)',
      process.env.FEEDBACK_TOKEN,
    )
    .option('--sync-interval <ms>', 'mirror store <-> R2 every ms (0 = only at start and stop)', '1000')
    .option(
      '--build <build>',
      'Worker build: engine (default, no onnxruntime-web, fits Workers Free) or full (+ onnxruntime-web)',
      'engine',
    )
    .option('--json', 'print one JSON line when ready')
    .action(async (raw: unknown) => {
      const opts = Options.parse(raw);
      const port = integerFlag('--port', opts.port, 0, 65535);
      const syncIntervalMs = integerFlag('--sync-interval', opts.syncInterval, 0, 3_600_000);
      const adminToken = tokenFlag('--admin-token', opts.adminToken);
      const feedbackToken = tokenFlag('--feedback-token', opts.feedbackToken);
      const build = buildFlag(opts.build);
      const store = openStore(opts.store);

      let stopping: ((signal: NodeJS.Signals) => void) | undefined;
      const stopped = new Promise<NodeJS.Signals>((resolve) => {
        stopping = resolve;
      });
      const onSignal = (signal: NodeJS.Signals) => stopping?.(signal);
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      const before = {
        SIGINT: new Set(process.listeners('SIGINT')),
        SIGTERM: new Set(process.listeners('SIGTERM')),
      };

      log(`bundling the ${build} Worker build with wrangler and starting workerd...`);
      const edge: LocalEdge = await startLocalEdgeLazily(store, {
        port,
        host: opts.host,
        adminToken,
        feedbackToken,
        syncIntervalMs,
        build,
        onSyncError: (e) => log(`sync: ${errorMessage(e)}`),
        onConflict: (c) =>
          log(
            `sync: conflict on ${c.key}: changed in the store and at the edge since the last pass; kept the store's copy`,
          ),
      });
      // Miniflare adds signal handlers that exit at once; ours stop gracefully instead, so the
      // edge's last writes (feedback, routing changes) reach the store before the process ends.
      for (const signal of ['SIGINT', 'SIGTERM'] as const) {
        for (const l of process.listeners(signal)) if (!before[signal].has(l)) process.off(signal, l);
      }

      // Told to stop while starting: stop rather than announce a server that is going away.
      const outcome = await Promise.race([waitReady(edge.url), stopped.then(() => 'stopping' as const)]);
      if (outcome !== 'stopping') {
        if (outcome) log(`warning: the edge is not ready yet: ${outcome}`);
        printResult(
          opts,
          {
            url: edge.url.href,
            store: store.url,
            build: edge.build,
            ready: outcome === null,
            bundleBytes: edge.bundleBytes,
          },
          () =>
            `edge function (${edge.build} build) listening on ${edge.url.href} (store ${store.url}); Ctrl-C to stop`,
        );
      }

      const signal = await stopped;
      log(`${signal}: copying the edge's last writes to the store and stopping...`);
      // A second signal, or a stop that takes too long, ends the process anyway; temporary
      // folders are removed on exit whichever way it ends.
      process.once('SIGINT', () => process.exit(130));
      process.once('SIGTERM', () => process.exit(143));
      const deadline = setTimeout(() => {
        log(`stop took over ${STOP_DEADLINE_MS / 1000} s; exiting`);
        process.exit(1);
      }, STOP_DEADLINE_MS);
      deadline.unref();
      await edge.dispose();
      clearTimeout(deadline);
      // Idle keep-alive sockets (S3 client, Miniflare's proxy) must not keep a stopped server alive.
      process.exit(process.exitCode ?? 0);
    });
}
