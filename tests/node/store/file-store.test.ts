import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileStore } from '../../../shared/store/node/file.ts';
import { describeObjectStoreContract } from './contract.ts';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), 'edgetune-filestore-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describeObjectStoreContract('file', async () => new FileStore(await tempDir()), { conditionalWrites: true });

describe('FileStore specifics', () => {
  it('leaves no temp or lock files behind and keeps them out of listings', async () => {
    const root = await tempDir();
    const store = new FileStore(root);
    await Promise.all(Array.from({ length: 5 }, (_, i) => store.put('m/x.json', String(i))));
    expect((await readdir(path.join(root, 'm'))).sort()).toEqual(['x.json']);
    await writeFile(path.join(root, 'm', '.x.json.abc.tmp'), 'junk');
    expect((await store.list('m/')).objects.map((o) => o.key)).toEqual(['m/x.json']);
  });

  it('breaks a stale lock left by a dead process, but waits for a fresh one', async () => {
    const root = await tempDir();
    const store = new FileStore(root, { lock: { staleMs: 200, timeoutMs: 5_000 } });
    await store.put('k', 'a');
    await writeFile(path.join(root, '.k.lock'), 'dead process');
    const started = Date.now();
    await store.put('k', 'b');
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(150);
    expect(new TextDecoder().decode((await store.get('k'))!.body)).toBe('b');

    const impatient = new FileStore(root, { lock: { staleMs: 60_000, timeoutMs: 100 } });
    await writeFile(path.join(root, '.k.lock'), 'live holder');
    await expect(impatient.put('k', 'c')).rejects.toMatchObject({ code: 'conflict' });
  });

  it('keeps a key below its root even when given path tricks', async () => {
    const root = await tempDir();
    const store = new FileStore(path.join(root, 'inner'));
    for (const bad of ['../outside', 'a/../../outside', '/etc/passwd', 'a\\..\\b', 'C:/x/../..']) {
      await expect(store.put(bad, 'x')).rejects.toMatchObject({ code: 'invalid_name' });
    }
    expect(await readdir(root)).toEqual([]);
  });

  it('does not create folders when deleting missing keys', async () => {
    const root = await tempDir();
    await new FileStore(root).delete('no/such/key');
    expect(await readdir(root)).toEqual([]);
  });

  it('uses quoted sha256 hex etags', async () => {
    const store = new FileStore(await tempDir());
    const info = await store.put('hello', 'hello');
    expect(info.etag).toBe('"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"');
  });
});
