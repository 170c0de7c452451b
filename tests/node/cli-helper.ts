/** Runs the edgetune CLI (`node bin/edgetune.mjs ...`) in a child process, as a user would. */
import { execFile } from 'node:child_process';
import path from 'node:path';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
export const CLI_BIN = path.join(REPO_ROOT, 'bin', 'edgetune.mjs');

export interface CliRun {
  /** Exit status (0 on success). */
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Resolves (never rejects) with the exit status and output. EDGETUNE_STORE is cleared so a store
 * configured in the developer's shell never leaks into a test.
 */
export function runCli(
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI_BIN, ...args],
      {
        cwd: options.cwd ?? REPO_ROOT,
        encoding: 'utf8',
        env: { ...process.env, ...options.env, EDGETUNE_STORE: '' },
      },
      (err, stdout, stderr) => {
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}
