import path from 'node:path';

/**
 * The local cache root every cache lives under (features, converted and pretrained backbones, hub
 * downloads): $EDGETUNE_CACHE_DIR, else .edgetune/cache under `cwd`. One place, so that pointing
 * the variable at a shared folder moves every cache, the tests' included.
 */
export function cacheRoot(cwd: string = process.cwd()): string {
  return path.resolve(cwd, process.env.EDGETUNE_CACHE_DIR ?? path.join('.edgetune', 'cache'));
}
