import { EdgetuneError } from '../errors.ts';
import { toBytes } from './digest.ts';
import { assertKey, assertPrefix } from './keys.ts';
import type { ListResult, ObjectInfo, ObjectStore, PutOptions, StoredObject } from './types.ts';

/** What R2Store reads of an R2 object: the binding's R2Object has all of it. */
export interface R2ObjectLike {
  key: string;
  size: number;
  httpEtag: string;
  uploaded: Date;
}

/**
 * The part of the R2 binding R2Store uses. A Workers `R2Bucket` satisfies it; so does the local
 * edge's bridge to its workerd bucket (local-edge/r2-bridge.ts).
 */
export interface R2BucketLike {
  get(key: string): Promise<(R2ObjectLike & { arrayBuffer(): Promise<ArrayBuffer> }) | null>;
  head(key: string): Promise<R2ObjectLike | null>;
  put(
    key: string,
    value: Uint8Array,
    options?: { onlyIf?: R2Conditional; httpMetadata?: { contentType?: string } },
  ): Promise<R2ObjectLike | null>;
  list(options: { prefix?: string; delimiter?: string; cursor?: string }): Promise<{
    objects: R2ObjectLike[];
    delimitedPrefixes: string[];
    truncated: boolean;
    cursor?: string;
  }>;
  delete(key: string): Promise<void>;
}

/**
 * ObjectStore over a Workers R2 binding. ETags are R2's `httpEtag` (quoted), the same form the S3
 * API returns for the same object, so an ETag read here can be compared with one read via S3.
 * R2's `onlyIf` takes the bare `etag`; quotes are stripped when passing one back.
 */
export class R2Store implements ObjectStore {
  readonly url: string;
  readonly #bucket: R2BucketLike;
  readonly #prefix: string;

  constructor(bucket: R2BucketLike, options: { prefix?: string; url?: string } = {}) {
    this.#bucket = bucket;
    const p = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
    this.#prefix = p ? `${assertKey(p)}/` : '';
    this.url = options.url ?? `r2://binding/${this.#prefix}`;
  }

  async get(key: string): Promise<StoredObject | null> {
    const obj = await this.#bucket.get(this.#key(key));
    if (!obj) return null;
    const body = new Uint8Array(await obj.arrayBuffer());
    return { key, size: obj.size, etag: obj.httpEtag, uploaded: obj.uploaded, body };
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const obj = await this.#bucket.head(this.#key(key));
    return obj ? info(key, obj) : null;
  }

  async put(key: string, body: Uint8Array | string, options: PutOptions = {}): Promise<ObjectInfo> {
    const k = this.#key(key);
    const onlyIf: R2Conditional | undefined =
      options.ifMatch !== undefined
        ? { etagMatches: bareEtag(options.ifMatch) }
        : options.ifNoneMatch === '*'
          ? { etagDoesNotMatch: '*' }
          : undefined;
    if (options.ifMatch !== undefined && options.ifNoneMatch === '*') {
      // Both at once can never hold; R2 would accept an object-less "match" otherwise.
      throw new EdgetuneError(
        'precondition_failed',
        `${key}: ifMatch and ifNoneMatch '*' together never hold`,
      );
    }
    const written = await this.#bucket.put(k, toBytes(body), {
      onlyIf,
      httpMetadata: options.contentType ? { contentType: options.contentType } : undefined,
    });
    // With onlyIf, R2 answers null instead of throwing when the condition does not hold.
    if (!written) throw new EdgetuneError('precondition_failed', `${key}: precondition failed`);
    return info(key, written);
  }

  async list(prefix: string, options: { delimiter?: string } = {}): Promise<ListResult> {
    assertPrefix(prefix);
    const objects: ObjectInfo[] = [];
    const prefixes: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.#bucket.list({
        prefix: this.#prefix + prefix,
        delimiter: options.delimiter,
        cursor,
      });
      for (const o of page.objects) objects.push(info(o.key.slice(this.#prefix.length), o));
      for (const p of page.delimitedPrefixes) prefixes.push(p.slice(this.#prefix.length));
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
    return { objects, prefixes };
  }

  async delete(key: string): Promise<void> {
    await this.#bucket.delete(this.#key(key));
  }

  #key(key: string): string {
    return this.#prefix + assertKey(key);
  }
}

function info(key: string, o: R2ObjectLike): ObjectInfo {
  return { key, size: o.size, etag: o.httpEtag, uploaded: o.uploaded };
}

/** `"abc"` and `W/"abc"` → `abc`; R2Conditional compares bare ETags. */
function bareEtag(etag: string): string {
  if (etag === '*') return etag;
  return etag.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}
