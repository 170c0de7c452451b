/** `edgetune train --select auto` flags: clear one-line errors before any work, and the help says what each choice does. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli-helper.ts';
import { quickBackbone } from '../train/scale-fixtures.ts';

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

  it('--help documents auto as the default below 50 labels per class, best as the quick two-way choice', async () => {
    const r = await runCli(['train', '--help']);
    expect(r.code).toBe(0);
    const help = r.stdout.replace(/\s+/g, ' ');
    expect(help).toMatch(
      /--select <which> auto \(default when a class has fewer than 50 labelled images and no --feature-layer, --trainable, --head or --baseline pins the configuration\) or transfer \(default otherwise\)/,
    );
    expect(help).toMatch(/best: the quick two-way choice/);
    expect(help).toMatch(/auto: cross-validate feature layers/);
    expect(help).toMatch(/--search-budget <duration>/);
  }, 600_000);
});

describe('train without --select', () => {
  let backbone: string;
  beforeAll(async () => {
    backbone = await quickBackbone();
  }, 900_000);
  // 4 labelled images per class: below 50, so the CLI searches unless a flag pins the configuration.
  const args = (out: string) => [
    'train',
    '--backbone',
    backbone,
    '--data',
    'opencv-digits:classes=0-2:per-class=4',
    '--name',
    'few',
    '--epochs',
    '5',
    '--out',
    out,
    '--json',
  ];

  it('searches when a class has fewer than 50 labelled images, and says why', async () => {
    const r = await runCli(args(fs.mkdtempSync(path.join(os.tmpdir(), 'edgetune-default-select-'))));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      '--select auto: fewer than 50 labelled images in a class, so the configuration is chosen by cross-validation (--select transfer trains the plain transfer model instead)',
    );
    const selection = JSON.parse(r.stdout).selection;
    expect(selection.reused).toBe(false);
    expect(selection.folds).toBe(4);
    expect(typeof selection.winner).toBe('string');
    // 3 classes × 4 labelled images: the JSON says how few the choice rests on.
    expect(selection.heldOutImages).toBe(12);
    expect(selection.note).toMatch(
      /^the choice rests on 12 labelled images \(one is 8\.3 points of CV accuracy\)/,
    );
  }, 900_000);

  it('a flag that pins the configuration trains it as asked, without a search', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'edgetune-pinned-'));
    const r = await runCli([...args(out), '--head', 'dropout=0.3']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('--select auto');
    expect(JSON.parse(r.stdout).selection).toBeUndefined();
  }, 900_000);
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
