import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { EdgetuneError } from '../../errors.ts';
import { toBytes } from '../digest.ts';
import { assertKey, assertPrefix } from '../keys.ts';
import type { ListResult, ObjectInfo, ObjectStore, PutOptions, StoredObject } from '../types.ts';
import { type LockOptions, withLockFile } from './file-lock.ts';

/**
 * An object store in a local directory: one file per key, `/` in keys = directories.
 *
 * - Writes go to a temp file in the same directory, are fsynced, then renamed over the target, so
 *   a reader sees the whole old or the whole new object.
 * - Every write (conditional or not) runs under a per-key lock file, so If-Match / If-None-Match
 *   are true compare-and-swap between concurrent calls and processes on this machine. (Network
 *   filesystems that do not honour O_EXCL are not supported.)
 * - ETag = quoted SHA-256 of the content, the same whoever computes it.
 * - Temp and lock files are dot-files; keys may not have dot-segments, so they never collide.
 * - A key cannot be both an object and a "folder" (S3 allows it; the registry never does it).
 */
export class FileStore implements ObjectStore {
  readonly url: string;
  readonly root: string;
  readonly #lock: LockOptions;
  readonly #etags = new Map<string, { id: string; etag: string }>();

  constructor(root: string, options: { lock?: LockOptions } = {}) {
    this.root = path.resolve(root);
    this.url = pathToFileURL(this.root).href;
    this.#lock = options.lock ?? {};
  }

  async get(key: string): Promise<StoredObject | null> {
    const file = this.#path(key);
    const read = await readWhole(file);
    if (!read) return null;
    return {
      key,
      size: read.body.byteLength,
      etag: etagOf(read.body),
      uploaded: read.mtime,
      body: read.body,
    };
  }

  async head(key: string): Promise<ObjectInfo | null> {
    // Every write replaces the file by rename (a new inode), so inode + size + mtime identify the
    // content: listing a store again (the local edge mirrors it every second) hashes nothing twice.
    const st = await stat(this.#path(key), { bigint: true }).catch(() => null);
    if (st?.isFile()) {
      const id = `${st.ino}:${st.size}:${st.mtimeNs}`;
      const known = this.#etags.get(key);
      if (known?.id === id)
        return { key, size: Number(st.size), etag: known.etag, uploaded: new Date(Number(st.mtimeMs)) };
    }
    const obj = await this.get(key);
    if (!obj) return null;
    const { body: _body, ...info } = obj;
    if (st?.isFile()) this.#etags.set(key, { id: `${st.ino}:${st.size}:${st.mtimeNs}`, etag: info.etag });
    return info;
  }

  async put(key: string, body: Uint8Array | string, options: PutOptions = {}): Promise<ObjectInfo> {
    const file = this.#path(key);
    const bytes = toBytes(body);
    const dir = path.dirname(file);
    await mkdirOrFail(dir, key);
    return withLockFile(
      lockPathFor(file),
      async () => {
        if (options.ifMatch !== undefined || options.ifNoneMatch !== undefined) {
          const current = await readWhole(file);
          const etag = current ? etagOf(current.body) : null;
          if (options.ifNoneMatch === '*' && etag !== null) {
            throw new EdgetuneError('precondition_failed', `${key} already exists`);
          }
          if (
            options.ifMatch !== undefined &&
            (etag === null || (options.ifMatch !== '*' && etag !== options.ifMatch))
          ) {
            throw new EdgetuneError(
              'precondition_failed',
              `${key} changed (etag ${etag ?? 'none'}, expected ${options.ifMatch})`,
            );
          }
        }
        const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
        try {
          const fh = await open(tmp, 'wx');
          try {
            await fh.writeFile(bytes);
            await fh.sync();
          } finally {
            await fh.close();
          }
          await rename(tmp, file);
        } catch (e) {
          await unlink(tmp).catch(() => undefined);
          if ((e as NodeJS.ErrnoException).code === 'EISDIR') {
            throw new EdgetuneError(
              'conflict',
              `${key} is a folder in ${this.url}; cannot store an object there`,
            );
          }
          throw e;
        }
        return { key, size: bytes.byteLength, etag: etagOf(bytes), uploaded: new Date() };
      },
      this.#lock,
    );
  }

  async list(prefix: string, options: { delimiter?: string } = {}): Promise<ListResult> {
    assertPrefix(prefix);
    const cut = prefix.lastIndexOf('/');
    const baseKey = cut >= 0 ? prefix.slice(0, cut + 1) : '';
    const files: string[] = [];
    await walk(path.join(this.root, ...baseKey.split('/').filter(Boolean)), baseKey, files);
    const delimiter = options.delimiter;
    const objects: ObjectInfo[] = [];
    const prefixes = new Set<string>();
    for (const key of files.sort()) {
      if (!key.startsWith(prefix)) continue;
      if (delimiter) {
        const at = key.indexOf(delimiter, prefix.length);
        if (at >= 0) {
          prefixes.add(key.slice(0, at + delimiter.length));
          continue;
        }
      }
      const info = await this.head(key);
      if (info) objects.push(info);
    }
    return { objects, prefixes: [...prefixes].sort() };
  }

  async delete(key: string): Promise<void> {
    const file = this.#path(key);
    const dir = path.dirname(file);
    // No folder, no object; and deleting must not create folders as a side effect.
    const st = await stat(dir).catch(() => null);
    if (!st?.isDirectory()) return;
    await withLockFile(
      lockPathFor(file),
      async () => {
        await unlink(file).catch((e: NodeJS.ErrnoException) => {
          if (e.code !== 'ENOENT' && e.code !== 'EISDIR' && e.code !== 'EPERM') throw e;
        });
      },
      this.#lock,
    );
  }

  #path(key: string): string {
    return path.join(this.root, ...assertKey(key).split('/'));
  }
}

function etagOf(bytes: Uint8Array): string {
  return `"${createHash('sha256').update(bytes).digest('hex')}"`;
}

function lockPathFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.lock`);
}

async function readWhole(file: string): Promise<{ body: Uint8Array; mtime: Date } | null> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(file, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw e;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) return null;
    const buf = await fh.readFile();
    return { body: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), mtime: st.mtime };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EISDIR') return null;
    throw e;
  } finally {
    await fh.close();
  }
}

async function mkdirOrFail(dir: string, key: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') {
      throw new EdgetuneError('conflict', `cannot store ${key}: a parent of it is an object`);
    }
    throw e;
  }
}

async function walk(dir: string, keyPrefix: string, out: string[]): Promise<void> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return;
    throw e;
  }
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue; // temp and lock files
    const key = `${keyPrefix}${entry.name}`;
    if (entry.isDirectory()) await walk(path.join(dir, entry.name), `${key}/`, out);
    else if (entry.isFile()) out.push(key);
  }
}
