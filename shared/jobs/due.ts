import { countFeedbackSince } from '../feedback/store.ts';
import { getManifest, latestVersionId } from '../registry/versions.ts';
import type { ObjectStore } from '../store/types.ts';
import type { Job, RetrainPolicy } from './schema.ts';

export interface DueCheck {
  due: boolean;
  /** One line saying why (or why not). */
  reason: string;
  newSamples: number;
  newestVersion: string | null;
  newestVersionAt: string | null;
  /** Seconds since the newest version was created (null without a version). */
  ageSeconds: number | null;
}

/**
 * Is a retrain due? "New" feedback is what arrived after the newest published version was
 * created — a rejected candidate is still published, so the same feedback does not trigger a
 * retrain again and again; only more feedback (or age with some new feedback) does.
 * Due when newSamples ≥ minNewSamples, or when the newest version is older than maxAge and there
 * is at least one new sample (retraining on unchanged data cannot improve anything).
 */
export async function checkRetrainDue(
  store: ObjectStore,
  model: string,
  policy: RetrainPolicy,
  now: Date = new Date(),
): Promise<DueCheck> {
  const newest = await latestVersionId(store, model);
  const manifest = newest ? await getManifest(store, model, newest) : null;
  if (!newest || !manifest) {
    return {
      due: false,
      reason: 'no published version to retrain',
      newSamples: 0,
      newestVersion: null,
      newestVersionAt: null,
      ageSeconds: null,
    };
  }
  const since = new Date(manifest.createdAt);
  const newSamples = await countFeedbackSince(store, model, since);
  const ageSeconds = Math.max(0, Math.floor((now.getTime() - since.getTime()) / 1000));
  const base = { newSamples, newestVersion: newest, newestVersionAt: manifest.createdAt, ageSeconds };
  if (newSamples >= policy.minNewSamples) {
    return {
      ...base,
      due: true,
      reason: `${newSamples} new feedback samples since ${newest} (minimum ${policy.minNewSamples})`,
    };
  }
  if (policy.maxAgeSeconds !== null && ageSeconds > policy.maxAgeSeconds && newSamples > 0) {
    return {
      ...base,
      due: true,
      reason: `${newest} is ${ageSeconds}s old (max ${policy.maxAgeSeconds}s) and there are ${newSamples} new feedback samples`,
    };
  }
  return {
    ...base,
    due: false,
    reason: `${newSamples}/${policy.minNewSamples} new feedback samples since ${newest}${policy.maxAgeSeconds !== null ? `, age ${ageSeconds}s of ${policy.maxAgeSeconds}s` : ''}`,
  };
}

/** The trigger recorded with a job created from this check. */
export function triggerOf(check: DueCheck): NonNullable<Job['trigger']> {
  return {
    newSamples: check.newSamples,
    newestVersion: check.newestVersion,
    newestVersionAt: check.newestVersionAt,
    since: check.newestVersionAt,
  };
}
