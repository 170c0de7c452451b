import { EdgetuneError } from '../errors.ts';
import { listModelNames } from '../registry/models.ts';
import { casUpdateJson } from '../store/cas.ts';
import { readJson } from '../store/json.ts';
import { keys } from '../store/keys.ts';
import type { ObjectStore } from '../store/types.ts';
import { type RetrainPolicy, type RetrainPolicyInput, RetrainPolicySchema } from './schema.ts';

/** The model's retrain policy and its ETag, or null when it has none (never retrained). */
export async function readPolicy(
  store: ObjectStore,
  name: string,
): Promise<{ policy: RetrainPolicy; etag: string } | null> {
  const read = await readJson(store, keys.policy(name), RetrainPolicySchema);
  return read ? { policy: read.value, etag: read.etag } : null;
}

/**
 * Merges `changes` into the current policy (defaults when there is none) and writes it with
 * compare-and-swap, so two editors never silently overwrite each other's fields.
 */
export async function updatePolicy(
  store: ObjectStore,
  name: string,
  changes: Partial<RetrainPolicyInput>,
  options: { now?: () => Date; maxAttempts?: number } = {},
): Promise<RetrainPolicy> {
  const now = options.now ?? (() => new Date());
  const result = await casUpdateJson(
    store,
    keys.policy(name),
    RetrainPolicySchema,
    (current) => {
      const merged = {
        ...(current?.value ?? {}),
        ...stripUndefined(changes),
        updatedAt: now().toISOString(),
      };
      const parsed = RetrainPolicySchema.safeParse(merged);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new EdgetuneError(
          'bad_request',
          `invalid retrain policy for ${name}: ${issue?.path.join('.') || ''}${issue?.path.length ? ': ' : ''}${issue?.message ?? 'invalid'}`,
        );
      }
      return parsed.data;
    },
    { maxAttempts: options.maxAttempts ?? 10, label: `retrain policy of ${name}` },
  );
  // The change never returns null, so a document was written.
  return result.value as RetrainPolicy;
}

/** Models that have a policy, with it; a corrupt policy is reported, not fatal for the others. */
export async function listPolicies(
  store: ObjectStore,
): Promise<{ name: string; policy: RetrainPolicy | null; problem?: string }[]> {
  const out: { name: string; policy: RetrainPolicy | null; problem?: string }[] = [];
  for (const name of await listModelNames(store)) {
    try {
      const read = await readPolicy(store, name);
      if (read) out.push({ name, policy: read.policy });
    } catch (e) {
      out.push({ name, policy: null, problem: e instanceof Error ? e.message : String(e) });
    }
  }
  return out;
}

/** `30m`, `12h`, `7d`, `2w` or plain seconds → seconds. */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)?\s*$/i.exec(text);
  if (!m)
    throw new EdgetuneError('bad_request', `invalid duration ${JSON.stringify(text)}: use e.g. 90m, 12h, 7d`);
  const unit = (m[2] ?? 's').toLowerCase() as 's' | 'm' | 'h' | 'd' | 'w';
  const factor = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }[unit];
  const seconds = Math.round(Number(m[1]) * factor);
  if (seconds <= 0)
    throw new EdgetuneError('bad_request', `duration must be positive, got ${JSON.stringify(text)}`);
  return seconds;
}

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/** `500MB`, `2GiB`, `1.5 GB` or plain bytes → bytes (decimal and binary units, as written). */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const factor = m ? SIZE_UNITS[(m[2] || 'b').toLowerCase()] : undefined;
  if (!m || factor === undefined)
    throw new EdgetuneError(
      'bad_request',
      `invalid size ${JSON.stringify(text)}: use e.g. 25MB, 1GiB or bytes`,
    );
  const bytes = Math.round(Number(m[1]) * factor);
  if (bytes <= 0)
    throw new EdgetuneError('bad_request', `size must be positive, got ${JSON.stringify(text)}`);
  return bytes;
}

/** Bytes → a short human figure in binary units (`1073741824` → `1 GiB`). */
export function formatSize(bytes: number): string {
  for (const [unit, f] of [
    ['TiB', 1024 ** 4],
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const) {
    if (bytes >= f) return `${Number((bytes / f).toFixed(2))} ${unit}`;
  }
  return `${bytes} B`;
}

/** Seconds → the largest whole unit up to days (`604800` → `7d`). */
export function formatDuration(seconds: number): string {
  for (const [unit, f] of [
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
  ] as const) {
    if (seconds % f === 0) return `${seconds / f}${unit}`;
  }
  return `${seconds}s`;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
