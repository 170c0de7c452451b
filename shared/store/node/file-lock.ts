import { open, rename, stat, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { EdgetuneError } from '../../errors.ts';

export interface LockOptions {
  /** Give up waiting after this long (a held lock is normally held for milliseconds). */
  timeoutMs?: number;
  /** A lock file older than this belongs to a process that died holding it; break it. */
  staleMs?: number;
}

/**
 * Runs `fn` while holding an exclusive lock file. `open(..., 'wx')` is atomic on local
 * filesystems, so exactly one process or call wins; the others back off and retry. This is what
 * makes check-then-write (If-Match / If-None-Match) race-free between processes on one machine.
 */
export async function withLockFile<T>(
  lockPath: string,
  fn: () => Promise<T>,
  options: LockOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const staleMs = options.staleMs ?? 60_000;
  const started = Date.now();
  let delay = 1;
  for (;;) {
    try {
      const fh = await open(lockPath, 'wx');
      try {
        await fh.writeFile(`${process.pid} ${new Date().toISOString()}\n`);
      } finally {
        await fh.close();
      }
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    await breakIfStale(lockPath, staleMs);
    if (Date.now() - started > timeoutMs) {
      throw new EdgetuneError('conflict', `timed out after ${timeoutMs} ms waiting for lock ${lockPath}`);
    }
    await sleep(delay + Math.random() * delay);
    delay = Math.min(delay * 2, 50);
  }
  try {
    return await fn();
  } finally {
    await unlink(lockPath).catch(() => undefined);
  }
}

async function breakIfStale(lockPath: string, staleMs: number): Promise<void> {
  const st = await stat(lockPath).catch(() => null);
  if (!st || Date.now() - st.mtimeMs < staleMs) return;
  // Rename first: only one breaker can move a given lock file away, so two breakers never both
  // delete (one of them would otherwise delete a fresh lock taken in between).
  const moved = `${lockPath}.stale-${randomBytes(6).toString('hex')}`;
  try {
    await rename(lockPath, moved);
  } catch {
    return;
  }
  await unlink(moved).catch(() => undefined);
}
