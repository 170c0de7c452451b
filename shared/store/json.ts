import type { z } from 'zod';
import { EdgetuneError } from '../errors.ts';
import type { ObjectStore, PutOptions, StoredObject } from './types.ts';

/**
 * JSON documents in a store are a trust boundary: whatever is there may have been written by an
 * older version, by hand, or cut short. Anything that does not parse and validate is reported as
 * `corrupt` with its key, and never used.
 */
export async function readJson<S extends z.ZodType>(
  store: ObjectStore,
  key: string,
  schema: S,
): Promise<{ value: z.output<S>; etag: string } | null> {
  const obj = await store.get(key);
  if (!obj) return null;
  return { value: parseJsonObject(obj, schema, store.url), etag: obj.etag };
}

export function parseJsonObject<S extends z.ZodType>(obj: StoredObject, schema: S, where = ''): z.output<S> {
  const at = where ? `${where} ` : '';
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(obj.body));
  } catch (e) {
    throw new EdgetuneError('corrupt', `corrupt object ${at}${obj.key}: not valid JSON`, { cause: e });
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.length ? `${issue.path.join('.')}: ` : '';
    throw new EdgetuneError(
      'corrupt',
      `corrupt object ${at}${obj.key}: ${path}${issue?.message ?? 'invalid'}`,
      {
        cause: parsed.error,
      },
    );
  }
  return parsed.data;
}

export function putJson(store: ObjectStore, key: string, value: unknown, options: PutOptions = {}) {
  return store.put(key, `${JSON.stringify(value, null, 2)}\n`, {
    contentType: 'application/json',
    ...options,
  });
}
