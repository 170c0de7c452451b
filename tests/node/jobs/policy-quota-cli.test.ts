/** `edgetune policy set` feedback-quota flags, through the CLI process, on a file store. */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseSize, readPolicy } from '../../../shared/jobs/policy.ts';
import { FileStore } from '../../../shared/store/node/file.ts';
import { runCli } from '../cli-helper.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('edgetune policy set: feedback quotas', () => {
  it('sets, shows and clears the three quota fields; bad values are one-line errors', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'edgetune-quota-cli-'));
    dirs.push(dir);
    const url = `file://${dir}`;
    const set = await runCli([
      'policy',
      'set',
      'pets',
      '--max-feedback-samples',
      '500',
      '--max-feedback-bytes',
      '2GiB',
      '--max-feedback-request-bytes',
      '8MB',
      '--store',
      url,
      '--json',
    ]);
    expect(set.stderr).toBe('');
    expect(set.code).toBe(0);
    const expected = {
      maxFeedbackSamples: 500,
      maxFeedbackBytes: 2 * 1024 ** 3,
      maxFeedbackRequestBytes: 8e6,
    };
    expect(JSON.parse(set.stdout).policy).toMatchObject(expected);
    expect((await readPolicy(new FileStore(dir), 'pets'))!.policy).toMatchObject(expected);

    const show = await runCli(['policy', 'show', 'pets', '--store', url]);
    expect(show.stdout).toMatch(/feedback quota:\s+500 samples, 2 GiB stored/);
    expect(show.stdout).toMatch(/feedback request:\s+at most 7\.63 MiB/);

    const cleared = await runCli([
      'policy',
      'set',
      'pets',
      '--max-feedback-bytes',
      'none',
      '--store',
      url,
      '--json',
    ]);
    expect(JSON.parse(cleared.stdout).policy).toMatchObject({
      maxFeedbackSamples: 500,
      maxFeedbackBytes: null,
    });

    const bad = await runCli(['policy', 'set', 'pets', '--max-feedback-bytes', '12 parsecs', '--store', url]);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/--max-feedback-bytes: invalid size "12 parsecs"/);
    const tiny = await runCli([
      'policy',
      'set',
      'pets',
      '--max-feedback-request-bytes',
      '10',
      '--store',
      url,
    ]);
    expect(tiny.code).toBe(1);
    expect(tiny.stderr).toMatch(/--max-feedback-request-bytes must be at least 1024 bytes/);
  });

  it('parseSize reads decimal and binary units', () => {
    expect(parseSize('25MB')).toBe(25_000_000);
    expect(parseSize('1.5 GiB')).toBe(1.5 * 1024 ** 3);
    expect(parseSize('4096')).toBe(4096);
    expect(() => parseSize('-3MB')).toThrow(/invalid size/);
  });
});
