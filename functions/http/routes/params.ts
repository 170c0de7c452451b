import type { Context } from 'hono';
import { EdgetuneError } from '../../../shared/errors.ts';
import { assertName } from '../../../shared/names.ts';
import type { AppEnv } from '../../runtime/env.ts';
import { PRECISION_MODES, type PrecisionMode } from '../../runtime/precision.ts';

/** The model name from the path (400 for anything that could not be a model name). */
export function modelParam<E extends AppEnv>(c: Context<E>): string {
  return assertName('model', c.req.param('name'));
}

/**
 * The explicitly requested version: the path's `:version` or the `x-model-version` header. Both
 * at once must agree.
 */
export function explicitVersion(c: Context<AppEnv>): string | undefined {
  const fromPath = c.req.param('version');
  const fromHeader = c.req.header('x-model-version');
  const path = fromPath === undefined ? undefined : assertName('version', fromPath);
  const header =
    fromHeader === undefined || fromHeader === '' ? undefined : assertName('version', fromHeader);
  if (path && header && path !== header) {
    throw new EdgetuneError('bad_request', `path asks for ${path} but x-model-version says ${header}`);
  }
  return path ?? header;
}

/** `x-user-key`: any opaque string up to 256 characters; the same key keeps its version. */
export function userKey(c: Context<AppEnv>): string | undefined {
  const key = c.req.header('x-user-key');
  if (key === undefined || key === '') return undefined;
  if (key.length > 256) throw new EdgetuneError('bad_request', 'x-user-key must be at most 256 characters');
  return key;
}

/**
 * `x-model-precision` on a request: `fp32` serves this request from the version's fp32 export
 * even where its int8 variant is served by default (to compare the two in production); `auto` or
 * no header keeps the Worker's `PRECISION` setting. A request cannot turn int8 on where `PRECISION`
 * is `fp32`: that variable is the operator's switch.
 */
export function requestedPrecision(c: Context<AppEnv>): PrecisionMode | undefined {
  const value = c.req.header('x-model-precision');
  if (value === undefined || value === '') return undefined;
  const mode = PRECISION_MODES.find((m) => m === value.trim().toLowerCase());
  if (!mode) {
    throw new EdgetuneError(
      'bad_request',
      `x-model-precision must be ${PRECISION_MODES.join(' or ')}, got ${JSON.stringify(value.slice(0, 40))}`,
    );
  }
  return mode;
}
