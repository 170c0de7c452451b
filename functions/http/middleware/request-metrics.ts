/**
 * Per-request metrics for the inference endpoints (classify, embed, infer). Runs around the route:
 * what answered is read from the response's own headers (`x-model-version`, `x-model-route`,
 * `x-engine`, `server-timing`, set by predict), so routes stay unaware of metrics, and errors are
 * seen with the status the error handler gave them.
 */
import type { MiddlewareHandler } from 'hono';
import { isValidName } from '../../../shared/names.ts';
import type { RequestEvent } from '../../../shared/metrics/schema.ts';
import type { AppEnv } from '../../runtime/env.ts';
import { getServices } from '../../runtime/services.ts';

const INFERENCE_PATH = /^\/v[12]\/models\/([^/]+)(?:\/versions\/([^/]+))?\/(classify|embed|infer)$/;

function timing(serverTiming: string | null, name: string): number | null {
  const m = serverTiming ? new RegExp(`(?:^|,)\\s*${name};dur=([0-9.]+)`).exec(serverTiming) : null;
  return m ? Number(m[1]) : null;
}

export function requestMetrics(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const m = c.req.method === 'POST' ? INFERENCE_PATH.exec(c.req.path) : null;
    if (!m || !isValidName(m[1])) return next();
    const started = Date.now();
    await next();
    const totalMs = Date.now() - started;
    const res = c.res;
    const answered = res.headers.get('x-model-version');
    const pinned = m[2] ?? c.req.header('x-model-version');
    // A pinned version that exists but failed (checksum mismatch, 5xx) still counts against it;
    // a 4xx before routing (bad body, unknown version) belongs to no version.
    const version = answered ?? (res.status >= 500 && isValidName(pinned) ? pinned! : null);
    const serverTiming = res.headers.get('server-timing');
    const event: RequestEvent = {
      model: m[1]!,
      version,
      endpoint: m[3] as RequestEvent['endpoint'],
      reason: res.headers.get('x-model-route') ?? (version ? 'pinned' : null),
      engine: res.headers.get('x-engine'),
      status: res.status,
      totalMs,
      loadMs: timing(serverTiming, 'load'),
      preprocessMs: timing(serverTiming, 'preprocess'),
      inferenceMs: timing(serverTiming, 'inference'),
    };
    // The figure the counters use, so a client can check the percentiles it is shown.
    c.header('server-timing', `total;dur=${totalMs}`, { append: true });
    getServices(c).metrics.observe(event, (p) => c.executionCtx.waitUntil(p));
  };
}
