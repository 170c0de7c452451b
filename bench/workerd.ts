/**
 * workerd (Miniflare) instances for the bench: the production Worker (functions/, bundled as
 * `wrangler deploy` would) and the bench-only Worker (bench/worker/), both bound to one local R2
 * directory so that models uploaded once are seen by every fresh instance (each cold-start sample
 * is a new workerd process: a genuinely cold isolate).
 */
import { mkdir, rm } from 'node:fs/promises';
import type { Miniflare } from 'miniflare';
import { bundleWorker, type WorkerBuild, type WorkerBundle } from '../local-edge/bundle.ts';
import { createMiniflare } from '../local-edge/miniflare.ts';

export type Bundle = WorkerBundle;

/** `wrangler deploy --dry-run` of one wrangler config (and build) into a fresh `outDir`. */
export async function bundle(config: string, outDir: string, build?: WorkerBuild): Promise<Bundle> {
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  return bundleWorker(outDir, { config, build });
}

export interface Instance {
  url: URL;
  mf: Miniflare;
  dispose(): Promise<void>;
}

/** A fresh workerd process running `b`, with MODELS bound to the R2 data in `r2Dir`. */
export async function startInstance(
  b: Bundle,
  r2Dir: string,
  bindings: Record<string, string> = {},
): Promise<Instance> {
  const mf = createMiniflare(b, { name: 'bench', r2Persist: r2Dir, bindings });
  const url = await mf.ready;
  return { url, mf, dispose: () => mf.dispose() };
}

/** JSON from the bench Worker, failing loudly on an error response. */
export async function call<T>(base: URL, pathAndQuery: string, method: 'GET' | 'POST' = 'POST'): Promise<T> {
  const res = await fetch(new URL(pathAndQuery, base), { method });
  const text = await res.text();
  if (!res.ok) throw new Error(`${pathAndQuery.split('?')[0]}: ${res.status} ${text.slice(0, 600)}`);
  return JSON.parse(text) as T;
}
