import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { EdgetuneError } from '../../shared/errors.ts';
import type { AppEnv } from '../env.ts';
import { getServices } from '../services.ts';

/**
 * Hono's body limit with the size from the `MAX_BODY_BYTES` var. It checks Content-Length
 * up front and counts streamed bytes otherwise, so an oversized body is refused without being
 * buffered whole.
 */
export function limitBody(): MiddlewareHandler<AppEnv> {
  return (c, next) => {
    const maxSize = getServices(c).config.maxBodyBytes;
    return bodyLimit({
      maxSize,
      onError: () => {
        throw new EdgetuneError('payload_too_large', `request body larger than ${maxSize} bytes`);
      },
    })(c, next);
  };
}
