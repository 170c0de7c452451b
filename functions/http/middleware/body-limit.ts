import type { Context, MiddlewareHandler } from 'hono';
import { EdgetuneError } from '../../../shared/errors.ts';
import type { AppEnv } from '../../runtime/env.ts';
import { getServices } from '../../runtime/services.ts';
import { drainBody } from './drain-body.ts';

/** Where a route's limit comes from; the default is the `MAX_BODY_BYTES` var. */
export type BodyLimitSource<E extends AppEnv = AppEnv> = (
  c: Context<E>,
) => { bytes: number; name: string } | Promise<{ bytes: number; name: string }>;

const edgeLimit: BodyLimitSource = (c) => ({
  bytes: getServices(c).config.maxBodyBytes,
  name: 'MAX_BODY_BYTES',
});

function tooLarge(received: string, limit: { bytes: number; name: string }): EdgetuneError {
  return new EdgetuneError(
    'payload_too_large',
    `request body is ${received}; the limit is ${limit.bytes} bytes (${formatMiB(limit.bytes)}, ${limit.name})`,
  );
}

export function formatMiB(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(bytes < 1024 * 1024 ? 3 : 1)} MiB`;
}

/**
 * Refuses bodies over the limit with a 413 that names the limit and what was received. A declared
 * Content-Length is checked before anything is read; a streamed body is counted while it is
 * buffered. Either way the rest of an oversized upload is read and discarded before answering:
 * a server that answers while the client is still sending and then closes the connection makes
 * clients (Node's fetch, browsers) see a connection reset instead of the 413.
 */
export function limitBody<E extends AppEnv = AppEnv>(
  source: BodyLimitSource<E> = edgeLimit as unknown as BodyLimitSource<E>,
): MiddlewareHandler<E> {
  return async (c, next) => {
    const req = c.req.raw;
    if (!req.body) return next();
    const limit = await source(c);
    const declared = req.headers.has('transfer-encoding') ? null : req.headers.get('content-length');
    if (declared !== null && /^\d+$/.test(declared.trim())) {
      const length = Number(declared);
      if (length > limit.bytes) {
        await drainBody(req);
        throw tooLarge(`${length} bytes (${formatMiB(length)})`, limit);
      }
      return next();
    }
    const reader = req.body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limit.bytes) {
        const rest = await drainBody(reader);
        throw tooLarge(
          rest.complete
            ? `${size + rest.bytes} bytes (${formatMiB(size + rest.bytes)}, sent without Content-Length)`
            : `more than ${size + rest.bytes} bytes (sent without Content-Length)`,
          limit,
        );
      }
      chunks.push(value);
    }
    const body = new Uint8Array(size);
    let offset = 0;
    for (const chunk of chunks) {
      body.set(chunk, offset);
      offset += chunk.byteLength;
    }
    c.req.raw = new Request(req, { body });
    return next();
  };
}
