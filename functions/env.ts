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
      ROUTING_TTL_SECONDS?: string;
      MODEL_CACHE_MB?: string;
      MAX_BODY_BYTES?: string;
    }
  }
}

export type Env = Cloudflare.Env;
