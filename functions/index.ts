/**
 * Worker entry. `fetch` is the Hono app (functions/routes/); `scheduled` is the retraining cron.
 */
import type { Env } from './env.ts';
import { createApp } from './routes/index.ts';
import { scheduled } from './scheduled.ts';

const app = createApp();

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
  scheduled,
} satisfies ExportedHandler<Env>;
