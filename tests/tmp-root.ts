/**
 * One temporary root per test run. Suites make their scratch directories with
 * `mkdtemp(os.tmpdir())`, and the CLI processes they start do the same; many of them are never
 * removed (a failed assertion skips the cleanup after it, and a CLI's own output folder belongs to
 * the test that reads it), so every `npm test` left a few hundred directories — gigabytes of models
 * and caches — in the machine's temp folder. Pointing TMPDIR at a fresh folder before any worker
 * starts puts all of them under it (workers and their child processes inherit the environment,
 * and `os.tmpdir()` reads TMPDIR), and the run removes it at the end. The suites that create
 * onnxruntime-node sessions directly get its telemetry turned off too, as edgetune's own processes
 * have it (training/inference/ort-node.ts): left on, it writes a device id and an event queue
 * into the home directory.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const MARK = 'EDGETUNE_TEST_TMP';

/** Called from each project's global setup; the first call of a run makes the root. */
export function isolateTmp(): () => void {
  process.env.ORT_DISABLE_TELEMETRY ??= '1';
  if (process.env[MARK]) return () => {};
  const before = process.env.TMPDIR;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'edgetune-tests-'));
  process.env.TMPDIR = root;
  process.env[MARK] = root;
  return () => {
    fs.rmSync(root, { recursive: true, force: true });
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
    delete process.env[MARK];
  };
}
