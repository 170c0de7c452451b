/** `edgetune train --select auto` flags: clear one-line errors before any work, and the help says what the default is. */
import { describe, expect, it } from 'vitest';
import { runCli } from '../cli-helper.ts';

const base = ['train', '--backbone', 'nsfwjs:MobileNetV2', '--data', 'folder:/nonexistent', '--name', 'x'];

describe('train --select / --search-budget', () => {
  it('refuses an unknown --select and a malformed --search-budget in one line', async () => {
    const bad = await runCli([...base, '--select', 'maybe']);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split('\n').at(-1)).toBe('edgetune: --select must be auto, transfer or best');
    const budget = await runCli([...base, '--select', 'auto', '--search-budget', 'soon']);
    expect(budget.code).toBe(1);
    expect(budget.stderr.trim().split('\n').at(-1)).toBe(
      'edgetune: invalid duration "soon": use e.g. 90m, 12h, 7d',
    );
  });

  it('--help documents auto as the default below 50 labels per class and best as the quick two-way choice', async () => {
    const r = await runCli(['train', '--help']);
    expect(r.code).toBe(0);
    const help = r.stdout.replace(/\s+/g, ' ');
    expect(help).toMatch(/--select <which> auto: cross-validate/);
    expect(help).toMatch(/the default when the smallest class has fewer than 50 labelled images/);
    expect(help).toMatch(/best: the quick two-way choice/);
    expect(help).toMatch(/--search-budget <duration>/);
  });
});
