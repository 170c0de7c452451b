/**
 * Worker entry. `fetch` is the Hono app (functions/routes/); the scheduled handler (retraining
 * cron) is added beside it by its own module.
 */
import type { Env } from './env.ts';
import { createApp } from './routes/index.ts';

const app = createApp();

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
} satisfies ExportedHandler<Env>;
