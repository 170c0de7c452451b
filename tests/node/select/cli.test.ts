/** `edgetune train --select auto` flags: clear one-line errors before any work, and the help says what each choice does. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../cli-helper.ts';

const base = ['train', '--backbone', 'nsfwjs:MobileNetV2', '--data', 'folder:/nonexistent', '--name', 'x'];

describe('train --select / --search-budget', () => {
  it('refuses an unknown --select and a malformed --search-budget in one line', async () => {
    const bad = await runCli([...base, '--select', 'maybe']);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split('\n').at(-1)).toBe('edgetune: --select must be transfer, best or auto');
    const budget = await runCli([...base, '--select', 'auto', '--search-budget', 'soon']);
    expect(budget.code).toBe(1);
    expect(budget.stderr.trim().split('\n').at(-1)).toBe(
      'edgetune: invalid duration "soon": use e.g. 90m, 12h, 7d',
    );
    // Each CLI start loads the whole training stack: minutes on a busy 2-core machine.
  }, 600_000);

  it('--help documents transfer as the default, best as the quick two-way choice and auto as the search', async () => {
    const r = await runCli(['train', '--help']);
    expect(r.code).toBe(0);
    const help = r.stdout.replace(/\s+/g, ' ');
    expect(help).toMatch(/--select <which> transfer \(default\)/);
    expect(help).toMatch(/best: the quick two-way choice/);
    expect(help).toMatch(/auto: cross-validate feature layers/);
    expect(help).toMatch(/--search-budget <duration>/);
  }, 600_000);
});

describe('policy set --search-again', () => {
  it('records whether retraining repeats the --select auto search', async () => {
    const store = `file://${fs.mkdtempSync(path.join(os.tmpdir(), 'edgetune-search-again-'))}`;
    const on = await runCli(['policy', 'set', 'digits', '--search-again', '--store', store, '--json']);
    expect(on.code).toBe(0);
    expect(JSON.parse(on.stdout).policy.searchAgain).toBe(true);
    const off = await runCli(['policy', 'set', 'digits', '--no-search-again', '--store', store]);
    expect(off.code).toBe(0);
    expect(off.stdout).toMatch(/--select auto on retrain: reuse the recipe's choice/);
  }, 600_000);
});
