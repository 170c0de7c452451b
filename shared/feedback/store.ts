import { EdgetuneError } from '../errors.ts';
import { assertName } from '../names.ts';
import { checkImageLimits, readImageHeader } from '../preprocess/header.ts';
import type { ImageLimits } from '../preprocess/types.ts';
import { sha256Hex } from '../store/digest.ts';
import { casUpdateJson } from '../store/cas.ts';
import { parseJsonObject, putJson, readJson } from '../store/json.ts';
import { keys, parseFeedbackIndexKey } from '../store/keys.ts';
import type { ObjectStore } from '../store/types.ts';
import { checkFeedbackQuota, type FeedbackQuota, feedbackUsage } from './quota.ts';
import { type FeedbackRecord, FeedbackRecordSchema } from './schema.ts';

/**
 * Content-addressed feedback under `datasets/{model}/feedback/`:
 * - `images/{sha256}.{png|jpg}`: the image bytes, once per distinct image;
 * - `records/{sha256}-{labelDigest}.json`: one (image, label) pair, created with If-None-Match: *,
 *   so the same pair posted twice (or by two isolates at once) is stored once;
 * - `index/{receivedAt}-{recordId}`: an empty marker whose NAME carries the time, so "how many new
 *   samples since T" is one LIST with no GETs (the cron runs this for every model).
 * The index is written after the record: a crash in between loses the sample for the trigger
 * count only; training reads `records/` and still sees it.
 */

export interface FeedbackInput {
  image: Uint8Array;
  label: string;
  /** Whether the label is one of the stable version's labels (callers check the policy). */
  knownLabel: boolean;
  /** The label comes from a trusted source (reviewer token, trusted import): it may judge. */
  trusted?: boolean;
  version?: string | null;
  prediction?: string | null;
  now?: Date;
  /** Size limits for the image (checked from its header, before anything is stored). */
  limits?: ImageLimits;
  /** The model's feedback quota, checked after the duplicate check and before any write. */
  quota?: FeedbackQuota;
}

export interface SavedFeedback {
  record: FeedbackRecord;
  key: string;
  /** True when this exact image+label pair was already stored (nothing new was written). */
  duplicate: boolean;
}

const EXT = { png: 'png', jpeg: 'jpg', webp: 'webp', gif: 'gif', avif: 'avif', heic: 'heic' } as const;
const CONTENT_TYPE = {
  png: 'image/png',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
  avif: 'image/avif',
  heic: 'image/heic',
} as const;

/** `{imageSha256}-{first 16 hex of sha256(label)}`: deterministic per (image, label). */
export async function feedbackId(imageSha256: string, label: string): Promise<string> {
  return `${imageSha256}-${(await sha256Hex(label)).slice(0, 16)}`;
}

export async function saveFeedback(
  store: ObjectStore,
  model: string,
  input: FeedbackInput,
): Promise<SavedFeedback> {
  assertName('model', model);
  const header = readImageHeader(input.image);
  checkImageLimits(header, input.image.byteLength, input.limits);
  const label = input.label.trim();
  if (label.length === 0 || label.length > 128) {
    throw new EdgetuneError('bad_request', 'label must be 1-128 characters');
  }
  const sha = await sha256Hex(input.image);
  const id = await feedbackId(sha, label);
  const key = keys.feedbackRecord(model, id);
  const existing = await readJson(store, key, FeedbackRecordSchema);
  if (existing) {
    // A reviewer confirming a pair someone else sent makes it trusted (nothing else changes).
    if (input.trusted && !existing.value.trusted) {
      const upgraded = await casUpdateJson(
        store,
        key,
        FeedbackRecordSchema,
        // Gone meanwhile (quarantined) or trusted already: nothing to write.
        (cur) => (cur && !cur.value.trusted ? { ...cur.value, trusted: true } : null),
        { label: `feedback record ${key}` },
      );
      return { record: upgraded.value ?? existing.value, key, duplicate: true };
    }
    return { record: existing.value, key, duplicate: true };
  }
  if (input.quota) {
    const usage = await feedbackUsage(store, model);
    checkFeedbackQuota(model, usage, input.quota, { sha256: sha, bytes: input.image.byteLength });
  }

  const imageKey = keys.feedbackImage(model, sha, EXT[header.format]);
  await createOnce(store, imageKey, input.image, CONTENT_TYPE[header.format]);
  const now = input.now ?? new Date();
  const record: FeedbackRecord = FeedbackRecordSchema.parse({
    schema: 1,
    id,
    model,
    label,
    knownLabel: input.knownLabel,
    trusted: input.trusted ?? false,
    image: {
      sha256: sha,
      key: imageKey,
      format: header.format,
      width: header.width,
      height: header.height,
      size: input.image.byteLength,
    },
    version: input.version ?? null,
    prediction: input.prediction ?? null,
    receivedAt: now.toISOString(),
  });
  try {
    await putJson(store, key, record, { ifNoneMatch: '*' });
  } catch (e) {
    if (e instanceof EdgetuneError && e.code === 'precondition_failed') {
      // Another request stored the same pair between our read and our write.
      const winner = await readJson(store, key, FeedbackRecordSchema);
      if (winner) return { record: winner.value, key, duplicate: true };
    }
    throw e;
  }
  await createOnce(store, keys.feedbackIndex(model, now, id), '', 'text/plain');
  return { record, key, duplicate: false };
}

/** Same bytes under a content-addressed key: an existing object is already what we would write. */
async function createOnce(store: ObjectStore, key: string, body: Uint8Array | string, contentType: string) {
  try {
    await store.put(key, body, { ifNoneMatch: '*', contentType });
  } catch (e) {
    if (!(e instanceof EdgetuneError && e.code === 'precondition_failed')) throw e;
  }
}

/** The index markers of one record (normally one). */
export async function findIndexKeys(store: ObjectStore, model: string, recordId: string): Promise<string[]> {
  const { objects } = await store.list(keys.feedbackIndexPrefix(model));
  return objects.map((o) => o.key).filter((k) => k.endsWith(`-${recordId}`));
}

/** Accepted samples received strictly after `since` (all of them when `since` is null). */
export async function countFeedbackSince(
  store: ObjectStore,
  model: string,
  since: Date | null,
): Promise<number> {
  const { objects } = await store.list(keys.feedbackIndexPrefix(model));
  let n = 0;
  for (const o of objects) {
    const at = parseFeedbackIndexKey(model, o.key);
    if (at && (since === null || at.getTime() > since.getTime())) n++;
  }
  return n;
}

/** Every accepted record of a model, oldest first; optionally only those received after `since`. */
export async function listFeedback(
  store: ObjectStore,
  model: string,
  options: { since?: Date | null } = {},
): Promise<FeedbackRecord[]> {
  const { objects } = await store.list(keys.feedbackRecordsPrefix(model));
  const records: FeedbackRecord[] = [];
  for (const o of objects) {
    if (!o.key.endsWith('.json')) continue;
    const obj = await store.get(o.key);
    if (!obj) continue; // deleted since the listing
    const record = parseJsonObject(obj, FeedbackRecordSchema, store.url);
    const since = options.since;
    if (since && new Date(record.receivedAt).getTime() <= since.getTime()) continue;
    records.push(record);
  }
  return records.sort((a, b) =>
    a.receivedAt < b.receivedAt ? -1 : a.receivedAt > b.receivedAt ? 1 : a.id < b.id ? -1 : 1,
  );
}

/** The image bytes of a record, checked against its sha256 (a store must not feed training garbage). */
export async function readFeedbackImage(store: ObjectStore, record: FeedbackRecord): Promise<Uint8Array> {
  const obj = await store.get(record.image.key);
  if (!obj) throw new EdgetuneError('not_found', `feedback image ${record.image.key} is missing`);
  const sha = await sha256Hex(obj.body);
  if (sha !== record.image.sha256) {
    throw new EdgetuneError(
      'checksum_mismatch',
      `${store.url} ${record.image.key}: sha256 ${sha} != ${record.image.sha256}`,
    );
  }
  return obj.body;
}
