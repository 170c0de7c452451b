/**
 * The ObjectStore contract, as one suite run against every implementation: the file store and
 * S3 (s3rver) in Node, and R2 (miniflare) in workerd. No `node:` imports: this file runs in both.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { EdgetuneError } from '../../../shared/errors.ts';
import type { ObjectStore } from '../../../shared/store/types.ts';

export interface ContractCapabilities {
  /** False only for test servers that ignore If-Match / If-None-Match (s3rver). */
  conditionalWrites: boolean;
}

function uniquePrefix(): string {
  const bytes = new Uint8Array(6);
  crypto.getRandomValues(bytes);
  return `t-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}/`;
}

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e, `expected EdgetuneError ${code}`).toBeInstanceOf(EdgetuneError);
  expect((e as EdgetuneError).code).toBe(code);
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);

export function describeObjectStoreContract(
  name: string,
  makeStore: () => Promise<ObjectStore> | ObjectStore,
  caps: ContractCapabilities,
): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let store: ObjectStore;
    let p: string;
    beforeAll(async () => {
      store = await makeStore();
    });
    const fresh = () => {
      p = uniquePrefix();
      return p;
    };

    it('returns null for missing keys', async () => {
      fresh();
      expect(await store.get(`${p}missing`)).toBeNull();
      expect(await store.head(`${p}missing`)).toBeNull();
    });

    it('stores bytes exactly and reports size and a stable etag', async () => {
      fresh();
      const body = new Uint8Array(256 * 4);
      for (let i = 0; i < body.length; i++) body[i] = i % 256;
      const put = await store.put(`${p}bin/all-bytes`, body);
      expect(put.size).toBe(1024);
      const got = await store.get(`${p}bin/all-bytes`);
      expect(got).not.toBeNull();
      expect(got!.size).toBe(1024);
      expect(Array.from(got!.body)).toEqual(Array.from(body));
      const head = await store.head(`${p}bin/all-bytes`);
      expect(head!.size).toBe(1024);
      expect(head!.etag).toBe(got!.etag);
      expect(put.etag).toBe(got!.etag);
      expect(put.etag.length).toBeGreaterThan(2);
    });

    it('stores strings as UTF-8 and replaces whole objects on overwrite', async () => {
      fresh();
      const a = await store.put(`${p}doc.json`, '{"café":"☕"}');
      expect(a.size).toBe(15); // 10 ASCII bytes + é (2) + ☕ (3)
      expect(text((await store.get(`${p}doc.json`))!.body)).toBe('{"café":"☕"}');
      const b = await store.put(`${p}doc.json`, 'x');
      expect(b.etag).not.toBe(a.etag);
      const got = await store.get(`${p}doc.json`);
      expect(text(got!.body)).toBe('x');
      expect(got!.size).toBe(1);
      // Same content → same etag (content-derived on every implementation we use).
      const c = await store.put(`${p}doc.json`, '{"café":"☕"}');
      expect(c.etag).toBe(a.etag);
    });

    it('round-trips a 1 MiB object', async () => {
      fresh();
      const body = new Uint8Array(1 << 20);
      let x = 12345;
      for (let i = 0; i < body.length; i++) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        body[i] = x >>> 24;
      }
      await store.put(`${p}big.bin`, body);
      const got = await store.get(`${p}big.bin`);
      expect(got!.size).toBe(1 << 20);
      let same = true;
      for (let i = 0; i < body.length; i++) if (got!.body[i] !== body[i]) same = false;
      expect(same).toBe(true);
    });

    it('lists keys under a prefix, sorted, with and without a delimiter', async () => {
      fresh();
      const keys = ['a/1.json', 'a/2.json', 'a/sub/3.json', 'a/sub/deeper/4.json', 'ab/5.json', 'b/6.json'];
      for (const k of keys) await store.put(`${p}${k}`, k);
      const all = await store.list(p);
      expect(all.objects.map((o) => o.key)).toEqual(keys.map((k) => `${p}${k}`));
      expect(all.objects.find((o) => o.key === `${p}a/1.json`)!.size).toBe('a/1.json'.length);

      const underA = await store.list(`${p}a/`);
      expect(underA.objects.map((o) => o.key.slice(p.length))).toEqual([
        'a/1.json',
        'a/2.json',
        'a/sub/3.json',
        'a/sub/deeper/4.json',
      ]);

      const partial = await store.list(`${p}a`);
      expect(partial.objects).toHaveLength(5); // a/... and ab/...

      const top = await store.list(p, { delimiter: '/' });
      expect(top.objects).toEqual([]);
      expect(top.prefixes).toEqual([`${p}a/`, `${p}ab/`, `${p}b/`]);

      const level = await store.list(`${p}a/`, { delimiter: '/' });
      expect(level.objects.map((o) => o.key.slice(p.length))).toEqual(['a/1.json', 'a/2.json']);
      expect(level.prefixes).toEqual([`${p}a/sub/`]);

      expect((await store.list(`${p}nothing/`)).objects).toEqual([]);
    });

    it('deletes keys; deleting a missing key is not an error', async () => {
      fresh();
      await store.put(`${p}gone`, 'x');
      await store.delete(`${p}gone`);
      expect(await store.get(`${p}gone`)).toBeNull();
      await store.delete(`${p}gone`);
      await store.delete(`${p}never/was`);
      expect((await store.list(p)).objects).toEqual([]);
    });

    it('rejects keys that could escape or mean different things on different stores', async () => {
      fresh();
      for (const bad of [
        '',
        '../x',
        `${p}../x`,
        '/abs',
        `${p}a//b`,
        `${p}a\\b`,
        `${p}.hidden`,
        `${p}a/./b`,
        `${p}trailing/`,
      ]) {
        await expectCode(store.put(bad, 'x'), 'invalid_name');
        await expectCode(store.get(bad), 'invalid_name');
      }
      await expectCode(store.list('../'), 'invalid_name');
    });

    describe.skipIf(!caps.conditionalWrites)('conditional writes', () => {
      it('ifNoneMatch "*" creates once and never overwrites', async () => {
        fresh();
        await store.put(`${p}once`, 'first', { ifNoneMatch: '*' });
        await expectCode(store.put(`${p}once`, 'second', { ifNoneMatch: '*' }), 'precondition_failed');
        expect(text((await store.get(`${p}once`))!.body)).toBe('first');
      });

      it('ifMatch swaps only against the current etag', async () => {
        fresh();
        const v1 = await store.put(`${p}cas`, 'v1');
        const v2 = await store.put(`${p}cas`, 'v2', { ifMatch: v1.etag });
        expect(text((await store.get(`${p}cas`))!.body)).toBe('v2');
        await expectCode(store.put(`${p}cas`, 'stale', { ifMatch: v1.etag }), 'precondition_failed');
        expect(text((await store.get(`${p}cas`))!.body)).toBe('v2');
        await expectCode(store.put(`${p}absent`, 'x', { ifMatch: v2.etag }), 'precondition_failed');
        expect(await store.get(`${p}absent`)).toBeNull();
        // The etag from head works as well as the one from put.
        const head = await store.head(`${p}cas`);
        await store.put(`${p}cas`, 'v3', { ifMatch: head!.etag });
        expect(text((await store.get(`${p}cas`))!.body)).toBe('v3');
      });

      it('exactly one of 8 racing creates wins', async () => {
        fresh();
        const results = await Promise.allSettled(
          Array.from({ length: 8 }, (_, i) => store.put(`${p}race`, `writer-${i}`, { ifNoneMatch: '*' })),
        );
        const won = results.filter((r) => r.status === 'fulfilled');
        expect(won).toHaveLength(1);
        for (const r of results) {
          if (r.status === 'rejected') expect((r.reason as EdgetuneError).code).toBe('precondition_failed');
        }
        const winner = results.findIndex((r) => r.status === 'fulfilled');
        expect(text((await store.get(`${p}race`))!.body)).toBe(`writer-${winner}`);
      });

      it('8 racing read-modify-write increments lose no update', async () => {
        fresh();
        await store.put(`${p}counter`, '0');
        const increment = async () => {
          for (let attempt = 0; attempt < 200; attempt++) {
            const cur = (await store.get(`${p}counter`))!;
            try {
              await store.put(`${p}counter`, String(Number(text(cur.body)) + 1), { ifMatch: cur.etag });
              return attempt;
            } catch (e) {
              if (!(e instanceof EdgetuneError && e.code === 'precondition_failed')) throw e;
              await new Promise((r) => setTimeout(r, Math.random() * 5));
            }
          }
          throw new Error('starved');
        };
        const retries = await Promise.all(Array.from({ length: 8 }, increment));
        expect(text((await store.get(`${p}counter`))!.body)).toBe('8');
        // Someone had to retry, or the race never happened and this test would prove nothing.
        expect(retries.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
      });
    });
  });
}
