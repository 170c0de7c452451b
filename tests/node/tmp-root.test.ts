import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// The run's temp directories live under one root that the global setup removes (tests/tmp-root.ts).
describe('the test run’s temp root', () => {
  it('is what os.tmpdir() gives a suite and the processes it starts', () => {
    const root = process.env.EDGETUNE_TEST_TMP;
    expect(root).toMatch(/edgetune-tests-/);
    expect(os.tmpdir()).toBe(root);
    const child = execFileSync(process.execPath, ['-p', 'require("node:os").tmpdir()'], { encoding: 'utf8' });
    expect(path.resolve(child.trim())).toBe(root);
  });
});
