/**
 * Per-isolate singletons built from the bindings on first use (never at global scope: Workers
 * give global scope 1 s and no bindings). Everything storage-related goes through the shared
 * registry over the R2 binding — the same functions the CLI uses. Which engines exist comes from
 * the Worker entry (`Backends`, set on the request context by `useBackends`), never from an
 * import here, so the engine-only bundle stays free of onnxruntime-web.
 */
import type { MiddlewareHandler } from 'hono';
import type { ImageLimits } from '../../shared/preprocess/types.ts';
import { readRouting } from '../../shared/routing/operations.ts';
import { latestVersionId, requireManifest } from '../../shared/registry/versions.ts';
import { keys } from '../../shared/store/keys.ts';
import { type EdgeConfig, readConfig } from './config.ts';
import type { Backends } from './backends.ts';
import type { AppEnv, Env } from './env.ts';
import type { ModelSource } from './model-source.ts';
import { ModelCache } from './models.ts';
import { R2Store } from '../../shared/store/r2.ts';
import { Server } from './serve.ts';
import { MetricsRecorder } from './metrics/recorder.ts';
import { ShadowRecorder } from './shadow.ts';

export interface Services {
  config: EdgeConfig;
  store: R2Store;
  cache: ModelCache;
  server: Server;
  shadow: ShadowRecorder;
  metrics: MetricsRecorder;
  imageLimits: ImageLimits;
}

export function registrySource(store: R2Store): ModelSource {
  return {
    readManifest: (name, version) => requireManifest(store, name, version),
    readFile: async (name, version, file) =>
      (await store.get(keys.versionFile(name, version, file)))?.body ?? null,
    readRouting: (name) => readRouting(store, name),
    latestVersion: (name) => latestVersionId(store, name),
  };
}

/** Hands the entry's backends to every route below it (mount first). */
export function useBackends(backends: Backends): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.set('backends', backends);
    await next();
  };
}

/** What `getServices` reads from a request: Hono's `Context<AppEnv>` fits. */
export interface ServicesContext {
  env: Env;
  var: { backends?: Backends };
}

// Keyed by build, then by the env object: one isolate normally sees one, and tests that build
// their own (or call both entries) get their own services.
const byBuild = new WeakMap<Backends, WeakMap<Env, Services>>();

export function getServices(c: ServicesContext): Services {
  const { env } = c;
  const backends = c.var.backends;
  // A route mounted without `useBackends` is a programming error, not a request's fault.
  if (!backends) throw new Error('getServices: no backends on the context (mount useBackends first)');
  let byEnv = byBuild.get(backends);
  if (!byEnv) {
    byEnv = new WeakMap();
    byBuild.set(backends, byEnv);
  }
  let services = byEnv.get(env);
  if (!services) {
    const config = readConfig(env);
    const store = new R2Store(env.MODELS);
    const cache = new ModelCache({
      source: registrySource(store),
      budgetBytes: config.modelCacheBytes,
      routingTtlMs: config.routingTtlMs,
      engine: config.engine,
      precision: config.precision,
      backends,
    });
    services = {
      config,
      store,
      cache,
      server: new Server(cache),
      shadow: new ShadowRecorder(store),
      metrics: new MetricsRecorder(store, {
        dataset: env.METRICS,
        flushMs: config.metricsFlushMs,
        log: config.requestLog,
      }),
      imageLimits: {
        maxBytes: config.maxBodyBytes,
        maxPixels: config.maxImagePixels,
        maxWidth: config.maxImageSide,
        maxHeight: config.maxImageSide,
      },
    };
    byEnv.set(env, services);
  }
  return services;
}
