/**
 * Workers-side access to the fixtures built in global-setup.ts: decode them and publish the
 * exports into the R2 binding through the shared registry (the same publish the CLI runs).
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { inject } from 'vitest';
import fullWorker from '../../functions/full.ts';
import worker from '../../functions/index.ts';
import { R2Store } from '../../shared/store/r2.ts';
import type { ModelManifestInput } from '../../shared/manifest/manifest.ts';
import { publishVersion } from '../../shared/registry/publish.ts';

export interface EdgeFixtures {
  exports: { manifest: ModelManifestInput; files: Record<string, string> }[];
  images: { id: string; contentType: 'image/png' | 'image/jpeg'; base64: string }[];
  /** Per export (same order), per image id: onnxruntime-node outputs. */
  references: Record<string, { probabilities: number[]; embedding: number[] }>[];
  /** A version the engine cannot run (Tanh), with its onnxruntime-node outputs per image id. */
  ortOnly: {
    manifest: ModelManifestInput;
    files: Record<string, string>;
    references: Record<string, { probabilities: number[]; embedding: number[] }>;
  };
  /** The Node-preprocessed input tensor of one image (same spec for every export). */
  tensor: { imageId: string; data: number[] };
}

declare module 'vitest' {
  export interface ProvidedContext {
    edgeFixtures: EdgeFixtures;
  }
}

export function fromBase64(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function fixtures(): EdgeFixtures {
  return inject('edgeFixtures');
}

export function fixtureImage(id: string): {
  bytes: Uint8Array<ArrayBuffer>;
  contentType: string;
  base64: string;
} {
  const image = fixtures().images.find((i) => i.id === id);
  if (!image) throw new Error(`no fixture image ${id}`);
  return { bytes: fromBase64(image.base64), contentType: image.contentType, base64: image.base64 };
}

export const store = () => new R2Store(env.MODELS);

/**
 * Publishes the first `count` fixture exports as versions v1..vN of `name` (v1 becomes stable).
 * Each test file uses its own model name, so files never see each other's routing.
 */
export async function publishFixtures(name: string, count = fixtures().exports.length): Promise<string[]> {
  const versions: string[] = [];
  for (const exp of fixtures().exports.slice(0, count)) {
    const files = Object.fromEntries(Object.entries(exp.files).map(([k, v]) => [k, fromBase64(v)]));
    const result = await publishVersion(store(), name, { manifest: { ...exp.manifest, name }, files });
    versions.push(result.version);
  }
  return versions;
}

/** The Worker builds: `engine` is the default entry (what vitest.config.ts runs), `full` adds ORT. */
export type Build = 'engine' | 'full';
const entries = { engine: worker, full: fullWorker } as const;

/**
 * Calls the Worker's fetch handler in this isolate with a fresh ExecutionContext (≈1 ms of
 * overhead, against ≈25 ms per request through `exports.default.fetch` on this machine, which
 * matters for the 2,000-key A/B test). `waitUntil` work can be awaited with `settle(ctx)`.
 */
export async function call(
  path: string,
  init?: RequestInit,
  ctx = createExecutionContext(),
  build: Build = 'engine',
): Promise<Response> {
  // The app never reads `request.cf`; the cast only satisfies the handler's incoming-request type.
  const request = new Request(`http://edge.test${path}`, init) as Request<
    unknown,
    IncomingRequestCfProperties
  >;
  return entries[build].fetch(request, env, ctx);
}

/** `call` on the full build (functions/full.ts: the engine plus onnxruntime-web). */
export function callFull(path: string, init?: RequestInit): Promise<Response> {
  return call(path, init, createExecutionContext(), 'full');
}

const envs = new Map<string, Cloudflare.Env>();

/**
 * The same request with some variables overridden. Services are per env object, so the merged env
 * is kept per override: requests with the same override share one model cache, like an isolate.
 */
export async function callWithVars(
  vars: Partial<Cloudflare.Env>,
  path: string,
  init?: RequestInit,
  ctx = createExecutionContext(),
  build: Build = 'engine',
): Promise<Response> {
  const request = new Request(`http://edge.test${path}`, init) as Request<
    unknown,
    IncomingRequestCfProperties
  >;
  const id = JSON.stringify(vars);
  let merged = envs.get(id);
  if (!merged) {
    merged = { ...env, ...vars };
    envs.set(id, merged);
  }
  return entries[build].fetch(request, merged, ctx);
}

/** The same request through the Worker's public entry (`exports.default.fetch`). */
export function callViaEntry(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(new Request(`http://edge.test${path}`, init));
}

export { createExecutionContext, waitOnExecutionContext as settle };
