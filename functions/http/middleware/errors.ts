import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { EdgetuneError } from '../../../shared/errors.ts';

/**
 * Every error leaves as `{error:{code,message}}`. EdgetuneErrors carry their own status; Hono's
 * HTTPExceptions (malformed requests it detects itself) stay 4xx; anything else is our fault (500)
 * and its details are logged, not sent.
 */
export function onError(err: Error, c: Context): Response {
  if (err instanceof EdgetuneError) {
    if (err.status >= 500) console.error(`${c.req.method} ${c.req.path}: ${err.code}: ${err.message}`);
    return c.json(err.toJSON(), err.status as ContentfulStatusCode);
  }
  if (err instanceof HTTPException) {
    const code = err.status === 413 ? 'payload_too_large' : err.status < 500 ? 'bad_request' : 'internal';
    return c.json({ error: { code, message: err.message || 'bad request' } }, err.status);
  }
  console.error(`${c.req.method} ${c.req.path}: unexpected error`, err);
  return c.json({ error: { code: 'internal', message: 'internal error' } }, 500);
}

export function notFound(c: Context): Response {
  return c.json(
    { error: { code: 'not_found', message: `no route for ${c.req.method} ${new URL(c.req.url).pathname}` } },
    404,
  );
}
