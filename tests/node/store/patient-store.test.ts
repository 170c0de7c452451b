import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ObjectStore } from '../../../shared/store/types.ts';
import { FileStore } from '../../../shared/store/node/file.ts';
import { PatientStore } from '../../../local-edge/patient-store.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgetune-patient-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A real store whose first `hangs` calls never answer (as a stuck binding-proxy call). */
function flaky(inner: ObjectStore, hangs: number): { store: ObjectStore; calls: string[] } {
  const calls: string[] = [];
  let left = hangs;
  const wrap =
    <A extends unknown[], R>(name: string, f: (...a: A) => Promise<R>) =>
    (...a: A): Promise<R> => {
      calls.push(name);
      if (left-- > 0) return new Promise<R>(() => undefined);
      return f(...a);
    };
  return {
    calls,
    store: {
      url: inner.url,
      get: wrap('get', (k: string) => inner.get(k)),
      head: wrap('head', (k: string) => inner.head(k)),
      put: wrap('put', (k: string, b: Uint8Array | string, o?: Parameters<ObjectStore['put']>[2]) =>
        inner.put(k, b, o),
      ),
      list: wrap('list', (p: string) => inner.list(p)),
      delete: wrap('delete', (k: string) => inner.delete(k)),
    },
  };
}

describe('PatientStore (the local edge mirror over a proxy that can hang)', () => {
  const base = new FileStore(dir);

  it('abandons a call that does not answer and gets the answer from the next try', async () => {
    const { store, calls } = flaky(base, 2);
    const retries: string[] = [];
    const patient = new PatientStore(store, { timeoutMs: 50, onRetry: (what) => retries.push(what) });
    await patient.put('a/b.txt', 'hello');
    expect(calls).toEqual(['put', 'put', 'put']);
    expect(retries).toHaveLength(2);
    expect(new TextDecoder().decode((await patient.get('a/b.txt'))!.body)).toBe('hello');
    expect((await patient.list('a/')).objects.map((o) => o.key)).toEqual(['a/b.txt']);
  });

  it('gives up after its tries with one clear message', async () => {
    const { store } = flaky(base, 10);
    const patient = new PatientStore(store, { timeoutMs: 20, attempts: 3 });
    await expect(patient.head('a/b.txt')).rejects.toThrow(/head .* a\/b\.txt: no answer after 3 tries/);
  });

  it('never repeats a conditional put (a first try that landed would fail the second)', async () => {
    const { store, calls } = flaky(base, 1);
    const patient = new PatientStore(store, { timeoutMs: 20, attempts: 3 });
    await expect(patient.put('a/c.txt', 'x', { ifNoneMatch: '*' })).rejects.toThrow(
      /no answer after 1 tries/,
    );
    expect(calls).toEqual(['put']);
    expect(await base.head('a/c.txt')).toBeNull();
  });

  it('passes errors through at once', async () => {
    const patient = new PatientStore(base, { timeoutMs: 1000 });
    await patient.put('a/d.txt', 'x');
    await expect(patient.put('a/d.txt', 'y', { ifNoneMatch: '*' })).rejects.toThrow(/already exists/);
  });
});
