import type { MiddlewareHandler } from 'hono';
import { EdgetuneError } from '../../../shared/errors.ts';
import type { AppEnv } from '../../runtime/env.ts';

const encoder = new TextEncoder();

/**
 * Constant-time token check: both sides are hashed first, so the comparison takes the same time
 * whatever the token's length or how many leading bytes match.
 */
export async function tokensEqual(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([
    crypto.subtle.digest('SHA-256', encoder.encode(given)),
    crypto.subtle.digest('SHA-256', encoder.encode(expected)),
  ]);
  // workerd's extension of Web Crypto (the DOM lib in tsconfig hides its type).
  const subtle = crypto.subtle as SubtleCrypto & { timingSafeEqual(a: ArrayBuffer, b: ArrayBuffer): boolean };
  return subtle.timingSafeEqual(a, b);
}

/** `Authorization: Bearer <ADMIN_TOKEN>`: none → 401, wrong → 403, unset secret → 403 for everyone. */
export function requireAdmin(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization');
    if (!header) {
      c.header('www-authenticate', 'Bearer realm="edgetune-admin"');
      throw new EdgetuneError('unauthorized', 'missing Authorization: Bearer <admin token>');
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) {
      c.header('www-authenticate', 'Bearer realm="edgetune-admin"');
      throw new EdgetuneError('unauthorized', 'Authorization header must be "Bearer <admin token>"');
    }
    const expected = c.env.ADMIN_TOKEN;
    if (!expected) throw new EdgetuneError('forbidden', 'the admin API is disabled: ADMIN_TOKEN is not set');
    if (!(await tokensEqual(match[1]!, expected)))
      throw new EdgetuneError('forbidden', 'invalid admin token');
    await next();
  };
}
