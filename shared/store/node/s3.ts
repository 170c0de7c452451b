import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { EdgetuneError } from '../../errors.ts';
import { toBytes } from '../digest.ts';
import { assertKey, assertPrefix } from '../keys.ts';
import type { ListResult, ObjectInfo, ObjectStore, PutOptions, StoredObject } from '../types.ts';

export interface S3StoreOptions {
  bucket: string;
  /** Key prefix inside the bucket ("" or "a/b/"); every key is stored under it. */
  prefix?: string;
  endpoint?: string;
  region?: string;
  forcePathStyle?: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Printable location (no secrets). */
  url?: string;
}

/**
 * ObjectStore over any S3-compatible service (AWS S3, R2's S3 endpoint, MinIO). Conditional
 * writes use PutObject's If-Match / If-None-Match, which AWS S3 and R2 honour; a 412 (or the 409
 * S3 returns when two conditional writes race) becomes `precondition_failed`.
 */
export class S3Store implements ObjectStore {
  readonly url: string;
  readonly client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;

  constructor(options: S3StoreOptions) {
    this.#bucket = options.bucket;
    this.#prefix = normalisePrefix(options.prefix ?? '');
    this.url = options.url ?? `s3://${options.bucket}/${this.#prefix}`;
    // The SDK prints a 7-line notice on Node < 22 about releases from 2027 on; the pinned SDK
    // supports Node 20, and the notice would bury the CLI's own output. An explicit user setting wins.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    this.client = new S3Client({
      region: options.region ?? 'us-east-1',
      endpoint: options.endpoint,
      forcePathStyle: options.forcePathStyle,
      credentials: options.credentials,
      // Without this the SDK sends streaming checksummed (aws-chunked) uploads, which some
      // S3-compatible servers store with the chunk framing included (FACTS.md).
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  async get(key: string): Promise<StoredObject | null> {
    const Key = this.#key(key);
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.#bucket, Key }));
      const body = res.Body ? await res.Body.transformToByteArray() : new Uint8Array();
      return { key, size: body.byteLength, etag: res.ETag ?? '', uploaded: res.LastModified, body };
    } catch (e) {
      if (isNotFound(e)) return null;
      throw wrap(e, `get ${key}`);
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const Key = this.#key(key);
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key }));
      return { key, size: res.ContentLength ?? 0, etag: res.ETag ?? '', uploaded: res.LastModified };
    } catch (e) {
      if (isNotFound(e)) return null;
      throw wrap(e, `head ${key}`);
    }
  }

  async put(key: string, body: Uint8Array | string, options: PutOptions = {}): Promise<ObjectInfo> {
    const Key = this.#key(key);
    const bytes = toBytes(body);
    try {
      const res = await this.client.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key,
          Body: bytes,
          ContentLength: bytes.byteLength,
          ContentType: options.contentType ?? 'application/octet-stream',
          IfMatch: options.ifMatch,
          IfNoneMatch: options.ifNoneMatch,
        }),
      );
      return { key, size: bytes.byteLength, etag: res.ETag ?? '', uploaded: new Date() };
    } catch (e) {
      const status = statusOf(e);
      if (status === 412 || status === 409) {
        throw new EdgetuneError('precondition_failed', `${key}: precondition failed (${status})`, {
          cause: e,
        });
      }
      throw wrap(e, `put ${key}`);
    }
  }

  async list(prefix: string, options: { delimiter?: string } = {}): Promise<ListResult> {
    assertPrefix(prefix);
    const objects: ObjectInfo[] = [];
    const prefixes: string[] = [];
    let token: string | undefined;
    do {
      let res: ListObjectsV2CommandOutput;
      try {
        res = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.#bucket,
            Prefix: this.#prefix + prefix,
            Delimiter: options.delimiter,
            ContinuationToken: token,
          }),
        );
      } catch (e) {
        throw wrap(e, `list ${prefix}`);
      }
      for (const o of res.Contents ?? []) {
        if (!o.Key) continue;
        objects.push({
          key: o.Key.slice(this.#prefix.length),
          size: o.Size ?? 0,
          etag: o.ETag ?? '',
          uploaded: o.LastModified,
        });
      }
      for (const p of res.CommonPrefixes ?? [])
        if (p.Prefix) prefixes.push(p.Prefix.slice(this.#prefix.length));
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    return { objects, prefixes };
  }

  async delete(key: string): Promise<void> {
    const Key = this.#key(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key }));
    } catch (e) {
      if (isNotFound(e)) return;
      throw wrap(e, `delete ${key}`);
    }
  }

  #key(key: string): string {
    return this.#prefix + assertKey(key);
  }
}

function normalisePrefix(prefix: string): string {
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  if (trimmed === '') return '';
  assertKey(trimmed);
  return `${trimmed}/`;
}

function statusOf(e: unknown): number | undefined {
  if (e instanceof S3ServiceException) return e.$metadata?.httpStatusCode;
  const meta = (e as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata;
  return meta?.httpStatusCode;
}

function isNotFound(e: unknown): boolean {
  const name = (e as { name?: string } | null)?.name;
  return name === 'NoSuchKey' || name === 'NotFound' || statusOf(e) === 404;
}

function wrap(e: unknown, what: string): Error {
  if (e instanceof EdgetuneError) return e;
  const status = statusOf(e);
  const name = (e as { name?: string } | null)?.name ?? 'Error';
  const message = e instanceof Error ? e.message.split('\n')[0] : String(e);
  if (status === 403 || status === 401) {
    return new EdgetuneError('forbidden', `s3 ${what}: access denied (${name}: ${message})`, { cause: e });
  }
  if (name === 'NoSuchBucket')
    return new EdgetuneError('not_found', `s3 ${what}: bucket does not exist`, { cause: e });
  return new EdgetuneError(
    'internal',
    `s3 ${what} failed: ${name}${status ? ` (${status})` : ''}: ${message}`,
    {
      cause: e,
    },
  );
}
