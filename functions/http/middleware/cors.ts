import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import type { AppEnv } from '../../runtime/env.ts';
import { getServices } from '../../runtime/services.ts';

/**
 * CORS for the public API, from the `CORS_ORIGINS` var (no origins by default). Preflights are
 * answered here; a request from an origin not on the list gets no Access-Control-Allow-Origin, so
 * the browser withholds the answer from that page. Headers a client needs to read A/B results
 * (`x-model-version`, `x-model-route`, `x-engine`, `server-timing`) are exposed.
 */
export function apiCors(): MiddlewareHandler<AppEnv> {
  return (c, next) => {
    const allowed = getServices(c).config.corsOrigins;
    const any = allowed.includes('*');
    return cors({
      origin: (origin) => (any ? '*' : allowed.includes(origin) ? origin : null),
      allowMethods: ['GET', 'POST', 'OPTIONS'],
      allowHeaders: ['content-type', 'authorization', 'x-user-key', 'x-model-version', 'x-model-precision'],
      exposeHeaders: ['x-model-version', 'x-model-route', 'x-engine', 'x-model-precision', 'server-timing'],
      maxAge: 600,
    })(c, next);
  };
}
