/**
 * The one storage interface. Implementations: the R2 binding (`r2.ts`, any runtime with an R2
 * bucket: Workers, or Node through the local edge's bridge), and the Node adapters file:// and
 * s3:// (`node/`, Node only; `node/open.ts` picks one from a URL). Every write is atomic from a reader's point of view: a
 * reader sees the whole old object or the whole new one, never a part.
 */
export interface ObjectInfo {
  key: string;
  size: number;
  /** Opaque entity tag; compare only for equality, and pass back in `ifMatch`. */
  etag: string;
  uploaded?: Date;
}

export interface StoredObject extends ObjectInfo {
  body: Uint8Array;
}

export interface PutOptions {
  /** Write only if the current object's ETag equals this (compare-and-swap). */
  ifMatch?: string;
  /** `'*'`: write only if no object exists at the key (create-once). */
  ifNoneMatch?: '*';
  contentType?: string;
}

export interface ListResult {
  objects: ObjectInfo[];
  /** Common prefixes ("folders") when a delimiter was given. */
  prefixes: string[];
}

export interface ObjectStore {
  /** A printable location such as `file:///abs/dir` or `s3://bucket/prefix`. */
  readonly url: string;
  get(key: string): Promise<StoredObject | null>;
  head(key: string): Promise<ObjectInfo | null>;
  /**
   * Stores `body` at `key`. When a precondition fails it throws
   * `EdgetuneError('precondition_failed')` and changes nothing.
   */
  put(key: string, body: Uint8Array | string, options?: PutOptions): Promise<ObjectInfo>;
  /** Lists every key under `prefix` (pagination is the implementation's job). */
  list(prefix: string, options?: { delimiter?: string }): Promise<ListResult>;
  /** Deletes the key; deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
}
