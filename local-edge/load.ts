import { EdgetuneError } from '../shared/errors.ts';
import type { LocalEdge, LocalEdgeOptions } from './local-edge.ts';
import type { ObjectStore } from '../shared/store/types.ts';

/**
 * Starts the local edge, loading it (and miniflare, a development dependency) only now: the
 * training images install with `npm ci --omit=dev`, and a static import made every command of
 * their CLI — `worker --once` included — fail at start-up with ERR_MODULE_NOT_FOUND.
 */
export async function startLocalEdgeLazily(
  store: ObjectStore,
  options: LocalEdgeOptions = {},
): Promise<LocalEdge> {
  let mod: typeof import('./local-edge.ts');
  try {
    mod = await import('./local-edge.ts');
  } catch (e) {
    if ((e as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND')
      throw new EdgetuneError(
        'unsupported',
        'the local edge runs in workerd through miniflare, a development dependency that this install ' +
          'left out (npm ci --omit=dev, as in the training images): run it from a checkout after `npm ci`',
      );
    throw e;
  }
  return mod.startLocalEdge(store, options);
}
