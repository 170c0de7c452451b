/**
 * The Worker's handlers over one build's engines: `fetch` is the Hono app (functions/http/routes/),
 * `scheduled` the retraining cron. The entries (functions/index.ts, functions/full.ts) differ
 * only in the backends they pass, so each bundle carries just the engines it imports.
 */
import type { Backends } from './runtime/backends.ts';
import type { Env } from './runtime/env.ts';
import { createApp } from './http/routes/index.ts';
import { scheduled } from './runtime/scheduled.ts';
import { warmUpAtStartup } from './runtime/warmup.ts';

export function createWorker(backends: Backends) {
  const app = createApp(backends);
  // Runs where the entry calls this: at global scope, i.e. while the isolate starts.
  warmUpAtStartup(app);
  return {
    fetch: (request, env, ctx) => app.fetch(request, env, ctx),
    scheduled,
  } satisfies ExportedHandler<Env>;
}
