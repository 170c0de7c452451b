/**
 * workerd (Miniflare) instances for the bench: the production Worker (functions/, bundled as
 * `wrangler deploy` would) and the bench-only Worker (bench/worker/), both bound to one local R2
 * directory so that models uploaded once are seen by every fresh instance (each cold-start sample
 * is a new workerd process: a genuinely cold isolate).
 */
import { mkdir, rm } from 'node:fs/promises';
import type { Miniflare } from 'miniflare';
import { bundleWorker, type WorkerBuild, type WorkerBundle } from '../local-edge/bundle.ts';
import { createMiniflare, localBucketStore } from '../local-edge/miniflare.ts';

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

/**
 * A fresh workerd for a cold-start sample: `startInstance`, then one R2 lookup of a key that does
 * not exist, made through the bridge Worker (never the measured Worker's isolate). Miniflare
 * emulates R2 as a Durable Object inside the same workerd process, and that object starts on the
 * process's first bucket operation (its script compiled, its SQLite index opened): about 30 ms of
 * workerd CPU that a real Worker's cold start never pays (R2 is a remote service that is not
 * started per isolate), which the first request of an unprimed instance would be timed with.
 * The in-isolate phase breakdowns already read their inputs from R2 before timing anything.
 * COLD_R2_PRIMED=0 measures without it (the numbers before this was added).
 */
export async function startColdInstance(
  b: Bundle,
  r2Dir: string,
  bindings: Record<string, string> = {},
): Promise<Instance> {
  const inst = await startInstance(b, r2Dir, bindings);
  if (process.env.COLD_R2_PRIMED === '0') return inst;
  try {
    await (await localBucketStore(inst.mf)).head('bench/r2-emulator-start');
  } catch (e) {
    await inst.dispose();
    throw e;
  }
  return inst;
}

/** JSON from the bench Worker, failing loudly on an error response. */
export async function call<T>(base: URL, pathAndQuery: string, method: 'GET' | 'POST' = 'POST'): Promise<T> {
  const res = await fetch(new URL(pathAndQuery, base), { method });
  const text = await res.text();
  if (!res.ok) throw new Error(`${pathAndQuery.split('?')[0]}: ${res.status} ${text.slice(0, 600)}`);
  return JSON.parse(text) as T;
}
