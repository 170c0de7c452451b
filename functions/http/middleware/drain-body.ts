import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../../runtime/env.ts';

/**
 * How much of a refused upload is read and thrown away so that its answer arrives as a complete
 * HTTP exchange. Past this the connection is closed instead (Cloudflare itself refuses bodies
 * over 100 MB before the Worker sees them).
 */
export const DRAIN_LIMIT_BYTES = 128 * 1024 * 1024;

/**
 * Reads and discards what is left of a request body, up to `DRAIN_LIMIT_BYTES`. Never throws: a
 * client that hangs up mid-upload just ends the drain.
 */
export async function drainBody(
  source: Request | ReadableStreamDefaultReader<Uint8Array>,
): Promise<{ bytes: number; complete: boolean }> {
  let reader: ReadableStreamDefaultReader<Uint8Array>;
  if (source instanceof Request) {
    if (!source.body || source.bodyUsed || source.body.locked) return { bytes: 0, complete: true };
    reader = source.body.getReader();
  } else {
    reader = source;
  }
  let bytes = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { bytes, complete: true };
      bytes += value.byteLength;
      if (bytes > DRAIN_LIMIT_BYTES) {
        await reader.cancel().catch(() => undefined);
        return { bytes, complete: false };
      }
    }
  } catch {
    return { bytes, complete: false };
  }
}

/**
 * App-wide: whatever a handler refused without reading (a 415 from the content type, a 401 before
 * the body, a 404 for an unknown route) still has its body consumed before the answer leaves.
 */
export function drainUnreadBody(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    await drainBody(c.req.raw);
  };
}
