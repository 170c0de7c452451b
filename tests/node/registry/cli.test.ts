import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli-helper.ts';
import { writeExportDir } from './fixtures.ts';

const cli = (args: string[], cwd: string) => runCli(args, { cwd });

let work: string;
let store: string;
beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'edgetune-cli-'));
  store = `file://${path.join(work, 'store')}`;
  for (const seed of [1, 2, 3]) await writeExportDir(path.join(work, `export-${seed}`), seed);
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function ok(args: string[]): Promise<Record<string, unknown>> {
  const r = await cli([...args, '--store', store, '--json'], work);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

async function routing(): Promise<{ stable: string; candidates: unknown[]; shadow: unknown }> {
  const shown = await ok(['models', 'show', 'cats']);
  return shown.routing as { stable: string; candidates: unknown[]; shadow: unknown };
}

describe('edgetune registry CLI (spawned)', () => {
  it('publish warns when only the full Worker build can serve the version', async () => {
    // Its own store: the round-trip below lists every model in the shared one.
    const own = `file://${path.join(work, 'store-warnings')}`;
    const text = await cli(['publish', 'dogs', path.join(work, 'export-1'), '--store', own], work);
    expect(text.code).toBe(0);
    expect(text.stderr).toMatch(/warning: dogs@v1 does not list the edgetune engine.*full Worker build/);
    const json = await cli(['publish', 'dogs', path.join(work, 'export-2'), '--store', own, '--json'], work);
    expect([json.code, json.stderr]).toEqual([0, '']);
    expect((JSON.parse(json.stdout) as { warnings: string[] }).warnings).toEqual([
      expect.stringContaining('dogs@v2 does not list the edgetune engine'),
    ]);
  });

  it('publish, rollout, promote, rollback, shadow round-trip and show up in `models show`', async () => {
    // Two publishers in separate processes at once: distinct versions.
    const [a, b] = await Promise.all([
      ok(['publish', 'cats', path.join(work, 'export-1')]),
      ok(['publish', 'cats', path.join(work, 'export-2')]),
    ]);
    expect([a.version, b.version].sort()).toEqual(['v1', 'v2']);
    const c = await ok(['publish', 'cats', path.join(work, 'export-3')]);
    expect(c.version).toBe('v3');
    const firstStable = [a, b].find((x) => x.madeStable)!.version as string;
    const other = firstStable === 'v1' ? 'v2' : 'v1';
    expect(await routing()).toMatchObject({ stable: firstStable, candidates: [], shadow: null });

    await ok(['rollout', 'cats', 'v3', '--weight', '25', '--reason', 'canary']);
    expect(await routing()).toMatchObject({
      stable: firstStable,
      candidates: [{ version: 'v3', weight: 25 }],
    });

    await ok(['promote', 'cats', 'v3']);
    expect(await routing()).toMatchObject({ stable: 'v3', candidates: [] });
    expect((await ok(['promote', 'cats', other])).routing).toMatchObject({ stable: other });

    const back = await ok(['rollback', 'cats']);
    expect(back).toMatchObject({ changed: true, routing: { stable: 'v3' }, previous: { stable: other } });
    expect((await routing()).stable).toBe('v3');
    expect((await ok(['rollback', 'cats'])).routing).toMatchObject({ stable: firstStable });

    await ok(['shadow', 'cats', 'v3', '--sample', '0.1']);
    expect((await routing()).shadow).toEqual({ version: 'v3', sample: 0.1 });

    const shown = await ok(['models', 'show', 'cats']);
    expect((shown.versions as Array<{ version: string }>).map((v) => v.version)).toEqual(['v1', 'v2', 'v3']);
    const manifest = await ok(['models', 'show', 'cats', '--version', 'v2']);
    expect(manifest).toMatchObject({ name: 'cats', version: 'v2', labels: ['cat', 'dog'] });
    const list = await ok(['models', 'list']);
    expect(list.models).toEqual([
      expect.objectContaining({
        name: 'cats',
        versions: ['v1', 'v2', 'v3'],
        latest: 'v3',
        stable: firstStable,
      }),
    ]);

    const refused = await cli(['delete-version', 'cats', 'v3', '--store', store], work);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^edgetune: refusing to delete cats v3: it is routed \(shadow\)/);
    await ok(['shadow', 'cats', '--clear']);
    const deleted = await ok(['delete-version', 'cats', 'v3']);
    expect(deleted).toMatchObject({ name: 'cats', version: 'v3', wasVisible: true });
    expect(((await ok(['models', 'show', 'cats'])).versions as unknown[]).length).toBe(2);

    const text = await cli(['models', 'show', 'cats', '--store', store], work);
    expect(text.stdout).toContain(`stable:     ${firstStable} (100%)`);
  }, 240_000);

  it('bad names and flags: one-line error, exit code 1', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['publish', '../etc', path.join(work, 'export-1')], /^edgetune: invalid model name "\.\.\/etc"/],
      [['rollout', 'cats', 'V1', '--weight', '5'], /^edgetune: invalid version name "V1"/],
      [['rollout', 'cats', 'v1', '--weight', '50%'], /^edgetune: --weight must be a number from 0 to 100/],
      [['models', 'show', 'a/b'], /^edgetune: invalid model name "a\/b"/],
      [['shadow', 'cats', 'v1', '--sample', '2'], /^edgetune: --sample must be a number from 0 to 1/],
      [['models', 'list', '--store', 'ftp://x'], /^edgetune: unsupported store URL/],
      [['serve', '--build', 'tiny'], /^edgetune: --build must be one of engine, full, got "tiny"/],
    ];
    const runs = await Promise.all(
      cases.map(([args]) => cli(args.includes('--store') ? args : [...args, '--store', store], work)),
    );
    for (const [i, r] of runs.entries()) {
      expect(r.code, cases[i]![0].join(' ')).toBe(1);
      expect(r.stderr).toMatch(cases[i]![1]);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});
