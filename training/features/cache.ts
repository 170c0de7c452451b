/**
 * On-disk cache of frozen-prefix activations: one float32 file per (backbone, boundary,
 * preprocessing, image). The image part is the dataset's Sample.id (sha256 of the decoded
 * pixels), so the same picture hits the cache whatever file or dataset it came from, and a
 * retraining job that sees mostly old images only runs the prefix on the new ones.
 *
 * Layout: <root>/<key>/<id[0:2]>/<id>.f32, key = sha256(backbone sha256, boundary tensor,
 * preprocess spec JSON, value count). Files are written to a temporary name and renamed, so
 * concurrent runs never read a partial entry; a file of the wrong size is treated as a miss.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { cacheRoot } from '../cache-root.ts';
import type { PreprocessSpec } from '../../shared/manifest/preprocess.ts';

export interface FeatureCacheKey {
  backboneSha256: string;
  boundary: string;
  preprocess: PreprocessSpec;
  /** Values per image (the boundary tensor's size without the batch). */
  itemSize: number;
}

/** `.edgetune/cache/features` under the working directory, or under $EDGETUNE_CACHE_DIR. */
export function defaultFeatureCacheDir(cwd: string = process.cwd()): string {
  return path.join(cacheRoot(cwd), 'features');
}

export function featureCacheKey(key: FeatureCacheKey): string {
  const p = key.preprocess;
  // Field order fixed here so that the key does not depend on how the spec object was built.
  const spec: unknown[] = [
    p.width,
    p.height,
    p.channels,
    p.layout,
    p.resize,
    p.scale,
    p.mean,
    p.std,
    p.invert,
  ];
  // Appended only when set, so caches written before channel order existed stay valid for RGB.
  if (p.channelOrder === 'bgr') spec.push('bgr');
  return createHash('sha256')
    .update(`${key.backboneSha256}\n${key.boundary}\n${JSON.stringify(spec)}\n${key.itemSize}\n`)
    .digest('hex')
    .slice(0, 32);
}

export class FeatureCache {
  readonly dir: string;
  /** featureCacheKey(key): also names the entries' folder in an object store. */
  readonly key: string;
  readonly itemSize: number;

  constructor(root: string, key: FeatureCacheKey) {
    this.key = featureCacheKey(key);
    this.dir = path.join(root, this.key);
    this.itemSize = key.itemSize;
  }

  private file(id: string): string {
    if (!/^[0-9a-f]{16,}$/.test(id)) throw new Error(`internal: bad sample id ${id}`);
    return path.join(this.dir, id.slice(0, 2), `${id}.f32`);
  }

  /** Reads an entry into `out` at `offset`; false when absent (or damaged). */
  read(id: string, out: Float32Array, offset: number): boolean {
    let buf: Buffer;
    try {
      buf = fs.readFileSync(this.file(id));
    } catch {
      return false;
    }
    if (buf.byteLength !== this.itemSize * 4) return false;
    out.set(new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)), offset);
    return true;
  }

  /** Whether an entry of the right size exists (no read). */
  has(id: string): boolean {
    try {
      return fs.statSync(this.file(id)).size === this.itemSize * 4;
    } catch {
      return false;
    }
  }

  write(id: string, values: Float32Array): void {
    const file = this.file(id);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    fs.writeFileSync(tmp, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
    fs.renameSync(tmp, file);
  }
}
