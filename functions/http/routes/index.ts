/**
 * The edge app: route modules mounted under their prefixes. The HTML page (`GET /`) and the
 * feedback routes mount here beside the others, e.g. `app.route('/', page)`,
 * `app.route('/v1', feedback)`.
 */
import { Hono } from 'hono';
import type { Backends } from '../../runtime/backends.ts';
import type { AppEnv } from '../../runtime/env.ts';
import { apiCors } from '../middleware/cors.ts';
import { drainUnreadBody } from '../middleware/drain-body.ts';
import { notFound, onError } from '../middleware/errors.ts';
import { requestMetrics } from '../middleware/request-metrics.ts';
import { page } from '../page/index.ts';
import { useBackends } from '../../runtime/services.ts';
import { admin } from './admin.ts';
import { feedback } from './feedback.ts';
import { v1 } from './v1.ts';
import { v2 } from './v2.ts';

/** The app over the engines of one Worker build (functions/index.ts or functions/full.ts). */
export function createApp(backends: Backends): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use(useBackends(backends));
  app.use('*', drainUnreadBody());
  app.use('/v1/*', apiCors());
  app.use('/v2/*', apiCors());
  app.use('*', requestMetrics());
  app.route('/v1', feedback);
  app.route('/v1', v1);
  app.route('/v2', v2);
  app.route('/admin', admin);
  app.route('/', page);
  app.onError(onError);
  app.notFound(notFound);
  return app;
}
