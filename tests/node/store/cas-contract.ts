/**
 * casUpdateJson, as one suite run against every store: the file store and S3 (s3rver) in Node,
 * and R2 (miniflare) in workerd. No `node:` imports: this file runs in both.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { EdgetuneError } from '../../../shared/errors.ts';
import { casUpdateJson } from '../../../shared/store/cas.ts';
import { putJson, readJson } from '../../../shared/store/json.ts';
import type { ObjectStore } from '../../../shared/store/types.ts';
import type { ContractCapabilities } from './contract.ts';

const Counter = z.object({ n: z.number().int(), by: z.array(z.string()) });
type Counter = z.infer<typeof Counter>;

function uniqueKey(): string {
  const bytes = new Uint8Array(6);
  crypto.getRandomValues(bytes);
  return `cas-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}/doc.json`;
}

const add = (who: string) => (cur: { value: Counter } | null) => ({
  n: (cur?.value.n ?? 0) + 1,
  by: [...(cur?.value.by ?? []), who],
});

async function codeOf(p: Promise<unknown>): Promise<string | null> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(EdgetuneError);
  return (e as EdgetuneError).code;
}

export function describeCasContract(
  name: string,
  makeStore: () => Promise<ObjectStore> | ObjectStore,
  caps: ContractCapabilities,
): void {
  describe(`casUpdateJson: ${name}`, () => {
    let store: ObjectStore;
    beforeAll(async () => {
      store = await makeStore();
    });

    it('creates an absent document, then updates it from what is stored', async () => {
      const key = uniqueKey();
      const created = await casUpdateJson(store, key, Counter, add('a'));
      expect(created).toMatchObject({
        value: { n: 1, by: ['a'] },
        previous: null,
        changed: true,
        attempts: 1,
      });
      const updated = await casUpdateJson(store, key, Counter, add('b'));
      expect(updated.value).toEqual({ n: 2, by: ['a', 'b'] });
      expect(updated.previous).toEqual({ value: { n: 1, by: ['a'] }, etag: created.etag });
      expect(updated.etag).not.toBe(created.etag);
      expect(await readJson(store, key, Counter)).toEqual({
        value: { n: 2, by: ['a', 'b'] },
        etag: updated.etag,
      });
    });

    it('writes nothing when the change returns null or throws', async () => {
      const key = uniqueKey();
      const first = await casUpdateJson(store, key, Counter, add('a'));
      const same = await casUpdateJson(store, key, Counter, () => null);
      expect(same).toMatchObject({
        value: { n: 1, by: ['a'] },
        changed: false,
        etag: first.etag,
        attempts: 1,
      });
      const refused = casUpdateJson(store, key, Counter, () => {
        throw new EdgetuneError('bad_request', 'refused by the change');
      });
      expect(await codeOf(refused)).toBe('bad_request');
      expect((await store.head(key))?.etag).toBe(first.etag);
      const absent = uniqueKey();
      expect(await casUpdateJson(store, absent, Counter, () => null)).toMatchObject({
        value: null,
        previous: null,
        etag: '',
        changed: false,
      });
      expect(await store.head(absent)).toBeNull();
    });

    it('reports a stored document that fails the schema as corrupt and leaves it alone', async () => {
      const key = uniqueKey();
      const bad = await putJson(store, key, { n: 'not a number' });
      expect(await codeOf(casUpdateJson(store, key, Counter, add('a')))).toBe('corrupt');
      expect((await store.head(key))?.etag).toBe(bad.etag);
    });

    describe.skipIf(!caps.conditionalWrites)('against other writers', () => {
      it('re-reads and re-applies when another writer lands between its read and its write', async () => {
        const key = uniqueKey();
        await casUpdateJson(store, key, Counter, add('seed'));
        const backoffs: number[] = [];
        const result = await casUpdateJson(
          store,
          key,
          Counter,
          async (cur, attempt) => {
            // The first attempt is overtaken by another writer; the second sees its update.
            if (attempt === 1) await casUpdateJson(store, key, Counter, add('other'));
            return add('me')(cur);
          },
          {
            backoff: async (attempt) => {
              backoffs.push(attempt);
            },
          },
        );
        expect(result.attempts).toBe(2);
        expect(backoffs).toEqual([1]);
        expect(result.value).toEqual({ n: 3, by: ['seed', 'other', 'me'] });
        expect((await readJson(store, key, Counter))?.value).toEqual(result.value);
      });

      it('creating races too: a document created meanwhile is updated, not overwritten', async () => {
        const key = uniqueKey();
        const result = await casUpdateJson(store, key, Counter, async (cur, attempt) => {
          if (attempt === 1) await putJson(store, key, { n: 10, by: ['creator'] });
          return add('me')(cur);
        });
        expect(result.attempts).toBe(2);
        expect((await readJson(store, key, Counter))?.value).toEqual({ n: 11, by: ['creator', 'me'] });
      });

      it('8 concurrent updates all land, none twice', async () => {
        const key = uniqueKey();
        const writers = Array.from({ length: 8 }, (_, i) => `w${i}`);
        await Promise.all(
          writers.map((w) => casUpdateJson(store, key, Counter, add(w), { maxAttempts: 100 })),
        );
        const stored = (await readJson(store, key, Counter))?.value;
        expect(stored?.n).toBe(8);
        expect([...(stored?.by ?? [])].sort()).toEqual(writers);
      });

      it('gives up with conflict after maxAttempts when it never wins, having written nothing', async () => {
        const key = uniqueKey();
        let others = 0;
        const backoffs: number[] = [];
        const lost = casUpdateJson(
          store,
          key,
          Counter,
          async (cur) => {
            others++;
            await casUpdateJson(store, key, Counter, add(`other-${others}`));
            return add('me')(cur);
          },
          {
            maxAttempts: 3,
            label: 'the test counter',
            backoff: async (attempt) => {
              backoffs.push(attempt);
            },
          },
        );
        const e = await lost.then(
          () => null,
          (err: unknown) => err,
        );
        expect(e).toBeInstanceOf(EdgetuneError);
        expect((e as EdgetuneError).code).toBe('conflict');
        expect((e as EdgetuneError).message).toBe('the test counter kept changing; gave up after 3 attempts');
        expect(backoffs).toEqual([1, 2]);
        const stored = (await readJson(store, key, Counter))?.value;
        expect(stored).toEqual({ n: 3, by: ['other-1', 'other-2', 'other-3'] });
      });
    });
  });
}
