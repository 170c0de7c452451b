import { z } from 'zod';
import type { Env } from './env.ts';
import type { EngineMode } from './models.ts';
import { PRECISION_MODES, type PrecisionMode } from './precision.ts';

/**
 * Edge settings from wrangler.toml `[vars]`, parsed once per isolate. Vars arrive as strings;
 * anything missing or unparsable falls back to the default rather than failing every request.
 */
export interface EdgeConfig {
  /** Seconds a model's routing document is reused before it is read again. */
  routingTtlMs: number;
  /** Budget for cached sessions (estimated wasm heap bytes). */
  modelCacheBytes: number;
  /** Largest request body accepted, in bytes. */
  maxBodyBytes: number;
  /** Origins whose browser pages may call the API (CORS); empty: none, `*`: any. */
  corsOrigins: string[];
  /** Images per request (JSON `images` or a V2 batch). */
  maxBatch: number;
  /** Largest decoded image (width × height), checked from the header before decoding. */
  maxImagePixels: number;
  /** Largest image side, checked from the header before decoding. */
  maxImageSide: number;
  /** Upper bound for `?top_k=`. */
  maxTopK: number;
  /** `auto`: the edgetune engine where the manifest lists it; `onnxruntime`: always onnxruntime-web. */
  engine: EngineMode;
  /** `auto`: a version's published int8 variant where the engine serves it; `fp32`: never. */
  precision: PrecisionMode;
  /** Milliseconds between flushes of per-version request counters to the store. */
  metricsFlushMs: number;
  /** One JSON log line per inference request. */
  requestLog: boolean;
}

const num = (fallback: number, min: number, max: number) =>
  z.coerce.number().finite().min(min).max(max).catch(fallback);

const EnvConfigSchema = z.object({
  ROUTING_TTL_SECONDS: num(2, 0, 3600),
  MODEL_CACHE_MB: num(100, 1, 4096),
  // 32 MiB admits a 48 MP q90 phone JPEG (~25 MB); Cloudflare refuses bodies over 100 MB itself.
  MAX_BODY_BYTES: num(32 * 1024 * 1024, 1024, 100 * 1024 * 1024),
  CORS_ORIGINS: z.string().catch(''),
  MAX_BATCH: num(16, 1, 256),
  // 4096 × 4096 RGBA would be 64 MB before any float copy: too much beside a 68 MB wasm heap.
  MAX_IMAGE_PIXELS: num(4_194_304, 1, 16_777_216),
  MAX_IMAGE_SIDE: num(4096, 1, 16384),
  ENGINE: z.enum(['auto', 'onnxruntime']).catch('auto'),
  PRECISION: z.enum(PRECISION_MODES).catch('auto'),
  METRICS_FLUSH_SECONDS: num(5, 0, 25),
  REQUEST_LOG: z.enum(['json', 'off']).catch('json'),
});

/** `env`: the Worker's bindings; only its string vars are read (`{}` gives the defaults). */
export function readConfig(env: Env | Record<string, never>): EdgeConfig {
  const v = EnvConfigSchema.parse(env);
  return {
    routingTtlMs: v.ROUTING_TTL_SECONDS * 1000,
    modelCacheBytes: Math.round(v.MODEL_CACHE_MB * 1024 * 1024),
    maxBodyBytes: Math.round(v.MAX_BODY_BYTES),
    corsOrigins: parseOrigins(v.CORS_ORIGINS),
    maxBatch: Math.round(v.MAX_BATCH),
    maxImagePixels: Math.round(v.MAX_IMAGE_PIXELS),
    maxImageSide: Math.round(v.MAX_IMAGE_SIDE),
    maxTopK: 1000,
    engine: v.ENGINE,
    precision: v.PRECISION,
    metricsFlushMs: v.METRICS_FLUSH_SECONDS * 1000,
    requestLog: v.REQUEST_LOG === 'json',
  };
}

/**
 * `CORS_ORIGINS`: comma- or space-separated origins (`https://app.example.com`), or `*`. An entry
 * that is not an origin is ignored with a warning: it could never match a browser's Origin header.
 */
export function parseOrigins(text: string | undefined): string[] {
  const out: string[] = [];
  for (const entry of (text ?? '').split(/[\s,]+/)) {
    if (entry === '') continue;
    if (entry === '*') {
      out.push('*');
      continue;
    }
    let origin: string | null = null;
    try {
      origin = new URL(entry).origin;
    } catch {
      origin = null;
    }
    if (origin && origin !== 'null' && origin === entry.replace(/\/$/, '')) out.push(origin);
    else
      console.warn(
        `CORS_ORIGINS: ignoring ${JSON.stringify(entry)}: not an origin such as https://app.example.com`,
      );
  }
  return out;
}
