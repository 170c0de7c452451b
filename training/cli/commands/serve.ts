import type { Command } from 'commander';
import { z } from 'zod';
import { EdgetuneError, errorMessage } from '../../../shared/errors.ts';
import { WORKER_BUILDS } from '../../serve/bundle.ts';
import { startLocalEdge } from '../../serve/local-edge.ts';
import { DEFAULT_STORE_URL, openStore } from '../../stores/open.ts';
import { log, printResult } from '../output.ts';

const Options = z.object({
  store: z.string(),
  port: z.coerce.number().int().min(0).max(65535),
  host: z.string(),
  persist: z.string().optional(),
  adminToken: z.string().min(8).optional(),
  feedbackToken: z.string().min(8).optional(),
  syncInterval: z.coerce.number().int().min(0),
  build: z.enum(WORKER_BUILDS),
  json: z.boolean().optional(),
});

export function register(program: Command): void {
  program
    .command('serve')
    .description('run the edge function locally in workerd, with the store mirrored into its local R2 bucket')
    .option('--store <url>', 'object store to serve from', DEFAULT_STORE_URL)
    .option('--port <n>', 'port (0 = any free port)', '8787')
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--persist <dir>', 'local R2 data directory', undefined)
    .option('--admin-token <t>', 'ADMIN_TOKEN for /admin (default: $ADMIN_TOKEN)', process.env.ADMIN_TOKEN)
    .option(
      '--feedback-token <t>',
      'FEEDBACK_TOKEN for feedback (default: $FEEDBACK_TOKEN)',
      process.env.FEEDBACK_TOKEN,
    )
    .option('--sync-interval <ms>', 'mirror store <-> R2 every ms (0 = only at start)', '1000')
    .option(
      '--build <build>',
      'Worker build: engine (default, no onnxruntime-web, fits Workers Free) or full (+ onnxruntime-web)',
      'engine',
    )
    .option('--json', 'print one JSON line when ready')
    .action(async (raw: unknown) => {
      const parsed = Options.safeParse(raw);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new EdgetuneError(
          'bad_request',
          `--${issue?.path.join('.') ?? '?'}: ${issue?.message ?? 'invalid'}`,
        );
      }
      const opts = parsed.data;
      const store = openStore(opts.store);
      log(`bundling the ${opts.build} Worker build with wrangler and starting workerd...`);
      const edge = await startLocalEdge(store, {
        port: opts.port,
        host: opts.host,
        persistDir: opts.persist,
        adminToken: opts.adminToken,
        feedbackToken: opts.feedbackToken,
        syncIntervalMs: opts.syncInterval,
        build: opts.build,
        onSyncError: (e) => log(`sync: ${errorMessage(e)}`),
      });
      printResult(
        opts,
        { url: edge.url.href, store: store.url, build: edge.build, bundleBytes: edge.bundleBytes },
        () =>
          `edge function (${edge.build} build) listening on ${edge.url.href} (store ${store.url}); Ctrl-C to stop`,
      );
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await edge.dispose();
    });
}
