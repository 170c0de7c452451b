import type { Backends } from './backends.ts';

/**
 * Bindings and variables the Worker receives (wrangler.toml + secrets). Declared on the global
 * `Cloudflare.Env` so `import { env } from 'cloudflare:workers'` is typed the same way.
 */
declare global {
  namespace Cloudflare {
    interface Env {
      MODELS: R2Bucket;
      ADMIN_TOKEN?: string;
      FEEDBACK_TOKEN?: string;
      /** Feedback sent with this token is trusted: it may join the retrain gate's holdout. */
      REVIEWER_TOKEN?: string;
      ROUTING_TTL_SECONDS?: string;
      MODEL_CACHE_MB?: string;
      MAX_BODY_BYTES?: string;
      /** Origins allowed to call the API from a browser (CORS), comma-separated; empty: none. */
      CORS_ORIGINS?: string;
      /** Optional overrides of the request limits (functions/runtime/config.ts has the defaults). */
      MAX_BATCH?: string;
      MAX_IMAGE_PIXELS?: string;
      MAX_IMAGE_SIDE?: string;
      /** `auto` (default) or `onnxruntime` to serve every version with onnxruntime-web. */
      ENGINE?: string;
      /** `auto` (default): a version's published int8 variant on the engine; `fp32`: never int8. */
      PRECISION?: string;
      /** Analytics Engine dataset for per-request metrics (optional; without it they go to the store). */
      METRICS?: AnalyticsEngineDataset;
      /** Seconds between flushes of per-version counters to the store when there is no METRICS. */
      METRICS_FLUSH_SECONDS?: string;
      /** `json` (default): one JSON log line per inference request; `off`: none. */
      REQUEST_LOG?: string;
    }
  }
}

export type Env = Cloudflare.Env;

/** The Hono environment every route module uses; `backends` comes from the Worker entry. */
export type AppEnv = { Bindings: Env; Variables: { backends: Backends } };
