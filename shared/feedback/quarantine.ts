/**
 * Quarantine for feedback the poisoned-feedback check refused. A quarantined record leaves
 * `records/` (training never sees it) and `index/` (the scheduler does not count it again) and
 * waits under `quarantine/{recordId}.json` with why it was held, until a person accepts it (back
 * into `records/`, counted as new) or rejects it (deleted). Nothing is lost in between: the
 * quarantine copy is written before the record is removed, and the image object is never touched.
 */
import { z } from 'zod';
import { EdgetuneError } from '../errors.ts';
import { putJson, readJson } from '../store/json.ts';
import { keys } from '../store/keys.ts';
import type { ObjectStore } from '../store/types.ts';
import { type FeedbackRecord, FeedbackRecordSchema } from './schema.ts';
import { findIndexKeys } from './store.ts';

export const QuarantinedFeedbackSchema = z.object({
  schema: z.literal(1),
  record: FeedbackRecordSchema,
  quarantinedAt: z.string().datetime(),
  /** One line: which check held it and with what numbers. */
  reason: z.string().max(2000),
  /** The job whose check held it, when a job did. */
  job: z.string().nullable(),
});
export type QuarantinedFeedback = z.infer<typeof QuarantinedFeedbackSchema>;

/** Moves records into quarantine; returns how many moved (records already gone are skipped). */
export async function quarantineFeedback(
  store: ObjectStore,
  model: string,
  records: readonly FeedbackRecord[],
  why: { reason: string; job?: string | null; now?: Date },
): Promise<number> {
  const at = (why.now ?? new Date()).toISOString();
  let moved = 0;
  for (const record of records) {
    const doc: QuarantinedFeedback = {
      schema: 1,
      record,
      quarantinedAt: at,
      reason: why.reason,
      job: why.job ?? null,
    };
    // Overwrites an older quarantine copy of the same record: the newest reason is the one shown.
    await putJson(store, keys.feedbackQuarantine(model, record.id), doc);
    for (const k of await findIndexKeys(store, model, record.id)) await store.delete(k);
    if (await store.head(keys.feedbackRecord(model, record.id))) {
      await store.delete(keys.feedbackRecord(model, record.id));
      moved++;
    }
  }
  return moved;
}

/** Quarantined feedback of a model, oldest first. */
export async function listQuarantine(store: ObjectStore, model: string): Promise<QuarantinedFeedback[]> {
  const { objects } = await store.list(keys.feedbackQuarantinePrefix(model));
  const out: QuarantinedFeedback[] = [];
  for (const o of objects) {
    if (!o.key.endsWith('.json')) continue;
    const read = await readJson(store, o.key, QuarantinedFeedbackSchema);
    if (read) out.push(read.value);
  }
  return out.sort((a, b) => (a.record.receivedAt < b.record.receivedAt ? -1 : 1));
}

async function requireQuarantined(store: ObjectStore, model: string, id: string) {
  const read = await readJson(store, keys.feedbackQuarantine(model, id), QuarantinedFeedbackSchema);
  if (!read) throw new EdgetuneError('not_found', `no quarantined feedback ${id} for ${model}`);
  return read.value;
}

/**
 * A person vouches for quarantined records: each goes back into `records/` with an index marker
 * at `now`, so it counts as new feedback for the next retrain, then leaves quarantine.
 */
export async function acceptQuarantined(
  store: ObjectStore,
  model: string,
  ids: readonly string[],
  now: Date = new Date(),
): Promise<FeedbackRecord[]> {
  const accepted: FeedbackRecord[] = [];
  for (const id of ids) {
    const q = await requireQuarantined(store, model, id);
    const record = FeedbackRecordSchema.parse({ ...q.record, receivedAt: now.toISOString() });
    await putJson(store, keys.feedbackRecord(model, id), record);
    await store.put(keys.feedbackIndex(model, now, id), '', { contentType: 'text/plain' });
    await store.delete(keys.feedbackQuarantine(model, id));
    accepted.push(record);
  }
  return accepted;
}

/** Drops quarantined records for good (their image objects stay: other records may share them). */
export async function rejectQuarantined(
  store: ObjectStore,
  model: string,
  ids: readonly string[],
): Promise<number> {
  for (const id of ids) await requireQuarantined(store, model, id);
  for (const id of ids) await store.delete(keys.feedbackQuarantine(model, id));
  return ids.length;
}
