import { mkdtempSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * Temporary folders of the local edge (the Worker bundle, the private R2 state), removed when the
 * server is disposed, and also when the process exits any other way — a signal during start-up,
 * an uncaught error — so `edgetune serve` never leaves a build folder behind.
 */
const live = new Set<string>();
let hooked = false;

function removeAllNow(): void {
  for (const dir of live) rmSync(dir, { recursive: true, force: true });
  live.clear();
}

/** A new empty folder `<tmpdir>/edgetune-<label>-XXXXXX`. */
export function makeTempDir(label: string): string {
  if (!hooked) {
    hooked = true;
    process.once('exit', removeAllNow);
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), `edgetune-${label}-`));
  live.add(dir);
  return dir;
}

export async function removeTempDir(dir: string): Promise<void> {
  live.delete(dir);
  await rm(dir, { recursive: true, force: true });
}
