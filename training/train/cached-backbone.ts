/**
 * A pretrained backbone built once per machine and reused (tests, the demo, benchmarks):
 * `.edgetune/cache/backbones/pretrain-<arch>-<key>.onnx` (+ `.tfjs/`), keyed by the pretraining
 * settings and the converter version. A lock file keeps concurrent callers (parallel test files)
 * from training the same backbone twice.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { cacheRoot } from '../cache-root.ts';
import { CONVERTER_ID } from '../backbones/convert/index.ts';
import { withLockFile } from '../../shared/store/node/file-lock.ts';
import { type PretrainOptions, runPretrain, tfjsSidecarDir } from './pretrain.ts';

/** Bump when pretraining changes in a way that should rebuild cached backbones. */
export const PRETRAIN_VERSION = 2;

export type CachedPretrainOptions = Pick<
  PretrainOptions,
  'data' | 'arch' | 'epochs' | 'seed' | 'size' | 'progress' | 'backend'
> & {
  cacheDir?: string;
};

export function cachedBackbonePath(o: CachedPretrainOptions): string {
  const arch = o.arch ?? 'small-cnn';
  const settings = { data: o.data, arch, epochs: o.epochs ?? 3, seed: o.seed ?? 1, size: o.size ?? null };
  const key = createHash('sha256')
    .update(JSON.stringify(settings))
    .update(`\n${CONVERTER_ID}\npretrain/${PRETRAIN_VERSION}`)
    .digest('hex')
    .slice(0, 16);
  const root = o.cacheDir ?? cacheRoot();
  return path.join(root, 'backbones', `pretrain-${arch}-${key}.onnx`);
}

function complete(file: string): boolean {
  return fs.existsSync(file) && fs.existsSync(path.join(tfjsSidecarDir(file), 'model.json'));
}

/** The backbone file, pretraining it first if this machine has not yet. */
export async function cachedPretrainedBackbone(
  o: CachedPretrainOptions,
): Promise<{ path: string; built: boolean }> {
  const file = cachedBackbonePath(o);
  if (complete(file)) return { path: file, built: false };
  fs.mkdirSync(path.dirname(file), { recursive: true });
  return withLockFile(
    `${file}.lock`,
    async () => {
      if (complete(file)) return { path: file, built: false };
      await runPretrain({ ...o, out: file });
      return { path: file, built: true };
    },
    // Pretraining takes minutes; a lock older than 20 minutes belongs to a process that died.
    { timeoutMs: 1_200_000, staleMs: 1_200_000 },
  );
}
