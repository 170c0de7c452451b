/**
 * The demo's HTTP client for the edge: real requests with image files, timed at the client, the
 * answers validated (zod) because they come over the wire.
 */
import { z } from 'zod';
import { type LatencyStats, latencyStats } from './stats.ts';

export const ClassifyResponseSchema = z.object({
  model: z.string(),
  version: z.string(),
  predictions: z.array(z.object({ label: z.string(), score: z.number() })).min(1),
  timing_ms: z.number(),
});
export type ClassifyResponse = z.infer<typeof ClassifyResponseSchema>;

export const EmbedResponseSchema = z.object({
  model: z.string(),
  version: z.string(),
  dim: z.number().int().positive(),
  embedding: z.array(z.number()),
  timing_ms: z.number(),
});
export type EmbedResponse = z.infer<typeof EmbedResponseSchema>;

export interface ImageFile {
  bytes: Uint8Array<ArrayBuffer>;
  type: 'image/png' | 'image/jpeg';
}

export interface CallOptions {
  userKey?: string;
  /** Pins a version with the `x-model-version` request header. */
  version?: string;
}

export interface Timed<T> {
  body: T;
  /** The `x-model-version` response header. */
  servedBy: string;
  ms: number;
}

export class EdgeClient {
  constructor(readonly base: URL) {}

  classify(model: string, image: ImageFile, options: CallOptions = {}): Promise<Timed<ClassifyResponse>> {
    return this.post(`/v1/models/${model}/classify`, image, options, ClassifyResponseSchema);
  }

  embed(model: string, image: ImageFile, options: CallOptions = {}): Promise<Timed<EmbedResponse>> {
    return this.post(`/v1/models/${model}/embed`, image, options, EmbedResponseSchema);
  }

  async get(path: string): Promise<{ status: number; type: string; text: string }> {
    const res = await fetch(new URL(path, this.base));
    return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
  }

  private async post<T>(
    path: string,
    image: ImageFile,
    options: CallOptions,
    schema: z.ZodType<T>,
  ): Promise<Timed<T>> {
    const headers: Record<string, string> = { 'content-type': image.type };
    if (options.userKey) headers['x-user-key'] = options.userKey;
    if (options.version) headers['x-model-version'] = options.version;
    const t0 = performance.now();
    const res = await fetch(new URL(path, this.base), { method: 'POST', headers, body: image.bytes });
    const text = await res.text();
    const ms = performance.now() - t0;
    if (!res.ok) throw new Error(`POST ${path} → ${res.status}: ${text.slice(0, 300)}`);
    const body = schema.parse(JSON.parse(text));
    return { body, servedBy: res.headers.get('x-model-version') ?? '', ms };
  }
}

/** One warm-up call (not counted), then `n` sequential calls: latency as a client sees it. */
export async function measure(n: number, call: () => Promise<{ ms: number }>): Promise<LatencyStats> {
  await call();
  const samples: number[] = [];
  for (let i = 0; i < n; i++) samples.push((await call()).ms);
  return latencyStats(samples);
}

/** Runs `fn` over `items` with at most `limit` in flight (the edge isolate serves one at a time). */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Polls until `check` holds (the edge re-reads routing every ROUTING_TTL_SECONDS). */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<number> {
  const t0 = performance.now();
  const timeout = options.timeoutMs ?? 20_000;
  for (;;) {
    if (await check()) return performance.now() - t0;
    if (performance.now() - t0 > timeout)
      throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 200));
  }
}
