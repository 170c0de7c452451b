/**
 * Per-isolate singletons built from the bindings on first use (never at global scope: Workers
 * give global scope 1 s and no bindings). Everything storage-related goes through the shared
 * registry over the R2 binding — the same functions the CLI uses.
 */
import type { ImageLimits } from '../shared/preprocess/types.ts';
import { readRouting } from '../shared/registry/routing.ts';
import { latestVersionId, requireManifest } from '../shared/registry/versions.ts';
import { keys } from '../shared/store/keys.ts';
import { type EdgeConfig, readConfig } from './config.ts';
import type { Env } from './env.ts';
import type { ModelSource } from './model-source.ts';
import { ModelCache } from './models.ts';
import { R2Store } from './r2-store.ts';
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

// Keyed by the env object: one isolate normally sees one, and tests that build their own get
// their own services.
const byEnv = new WeakMap<Env, Services>();

export function getServices(env: Env): Services {
  let services = byEnv.get(env);
  if (!services) {
    const config = readConfig(env);
    const store = new R2Store(env.MODELS);
    const cache = new ModelCache({
      source: registrySource(store),
      budgetBytes: config.modelCacheBytes,
      routingTtlMs: config.routingTtlMs,
      engine: config.engine,
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
