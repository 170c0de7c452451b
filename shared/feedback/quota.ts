import { EdgetuneError } from '../errors.ts';
import { keys } from '../store/keys.ts';
import type { ObjectStore } from '../store/types.ts';

/** Per-model bounds on stored feedback (fields of the retrain policy; null = unbounded). */
export interface FeedbackQuota {
  maxSamples: number | null;
  maxBytes: number | null;
}

export interface FeedbackUsage {
  /** Stored (image, label) records. */
  samples: number;
  /** Bytes of the distinct stored images. */
  bytes: number;
  /** Whether an image with this sha256 is already stored (adding a label to it costs no bytes). */
  hasImage: (sha256: string) => boolean;
}

/**
 * What a model's feedback occupies, from two listings (records and images; sizes come with the
 * listing, nothing is read). Counting the bucket itself, rather than keeping a counter object,
 * means the figure can never drift from what is stored.
 */
export async function feedbackUsage(store: ObjectStore, model: string): Promise<FeedbackUsage> {
  const prefix = keys.feedbackPrefix(model);
  const [records, images] = await Promise.all([
    store.list(`${prefix}records/`),
    store.list(`${prefix}images/`),
  ]);
  const shas = new Set(images.objects.map((o) => o.key.slice(`${prefix}images/`.length).split('.')[0]!));
  return {
    samples: records.objects.filter((o) => o.key.endsWith('.json')).length,
    bytes: images.objects.reduce((sum, o) => sum + o.size, 0),
    hasImage: (sha) => shas.has(sha),
  };
}

/**
 * Refuses (429 `quota_exceeded`) a new sample that would take the model past its quota. Concurrent
 * requests each see the usage before the others' writes, so a burst can pass the quota by at most
 * the number of requests in flight.
 */
export function checkFeedbackQuota(
  model: string,
  usage: FeedbackUsage,
  quota: FeedbackQuota,
  image: { sha256: string; bytes: number },
): void {
  if (quota.maxSamples !== null && usage.samples + 1 > quota.maxSamples) {
    throw new EdgetuneError(
      'quota_exceeded',
      `feedback quota of ${model} reached: ${usage.samples} samples stored, the policy allows ${quota.maxSamples} (maxFeedbackSamples)`,
    );
  }
  const added = usage.hasImage(image.sha256) ? 0 : image.bytes;
  if (quota.maxBytes !== null && usage.bytes + added > quota.maxBytes) {
    throw new EdgetuneError(
      'quota_exceeded',
      `feedback quota of ${model} reached: ${usage.bytes} bytes stored + ${added} bytes received > ${quota.maxBytes} bytes allowed (maxFeedbackBytes)`,
    );
  }
}
