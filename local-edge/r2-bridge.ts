import { EdgetuneError } from '../shared/errors.ts';
import type { R2BucketLike, R2ObjectLike } from '../shared/store/r2.ts';

/** Miniflare's handle on a Worker: only its asynchronous `fetch` is used. */
export interface WorkerFetcher {
  fetch(input: string, init?: RequestInit): Promise<Response>;
}

export const R2_BRIDGE_WORKER = 'edgetune-r2-bridge';

interface WireObject {
  key: string;
  size: number;
  httpEtag: string;
  uploaded: string;
}

const object = (w: WireObject): R2ObjectLike => ({
  key: w.key,
  size: w.size,
  httpEtag: w.httpEtag,
  uploaded: new Date(w.uploaded),
});

/**
 * The local edge's R2 bucket, reached through the bridge Worker (r2-bridge-worker.js) with one
 * asynchronous fetch per operation. Wrapped in R2Store, it is the same ObjectStore the Worker uses.
 */
export function bridgeBucket(worker: WorkerFetcher): R2BucketLike {
  const call = async (op: string, key: string | null, options: unknown, body?: Uint8Array) => {
    const url = new URL(`http://r2-bridge/${op}`);
    if (key !== null) url.searchParams.set('key', key);
    const res = await worker.fetch(url.href, {
      method: body ? 'PUT' : 'POST',
      headers: { 'x-bridge-options': JSON.stringify(options ?? {}) },
      body: body as Uint8Array<ArrayBuffer> | undefined,
    });
    if (res.status >= 400 && res.status !== 404) {
      throw new EdgetuneError(
        'internal',
        `local R2 bridge ${op} ${key ?? ''}: ${res.status} ${await res.text()}`,
      );
    }
    return res;
  };
  return {
    async get(key) {
      const res = await call('get', key, {});
      if (res.status === 404) {
        await res.body?.cancel();
        return null;
      }
      const bytes = await res.arrayBuffer();
      const meta = object(JSON.parse(res.headers.get('x-bridge-object') ?? '{}') as WireObject);
      return { ...meta, arrayBuffer: async () => bytes };
    },
    async head(key) {
      const w = (await (await call('head', key, {})).json()) as WireObject | null;
      return w ? object(w) : null;
    },
    async put(key, value, options) {
      const w = (await (await call('put', key, options ?? {}, value)).json()) as WireObject | null;
      return w ? object(w) : null;
    },
    async list(options) {
      const r = (await (await call('list', null, options)).json()) as {
        objects: WireObject[];
        delimitedPrefixes: string[];
        truncated: boolean;
        cursor?: string;
      };
      return { ...r, objects: r.objects.map(object) };
    },
    async delete(key) {
      await (await call('delete', key, {})).body?.cancel();
    },
  };
}
