/**
 * Accepted feedback as training data for a retrain: every record of the model, decoded the way
 * dataset folders are (grey stays 1 channel), split into a training part and a FIXED held-out
 * part. Only TRUSTED feedback (reviewer token, trusted import) can be held out: anyone can send
 * untrusted labels, so they train but never judge. The split is a function of the image's sha256
 * only, so a sample is on the same side in every job (a later candidate is never evaluated on
 * images an earlier one trained on) and the same picture posted with two labels never lands on
 * both sides.
 */
import { EdgetuneError, errorMessage } from '../../shared/errors.ts';
import { listFeedback, readFeedbackImage } from '../../shared/feedback/store.ts';
import type { FeedbackRecord } from '../../shared/feedback/schema.ts';
import { decodeImage } from '../../shared/preprocess/decode.ts';
import type { DecodeTarget } from '../../shared/preprocess/shrink.ts';
import { installNodeCodecs } from '../images/node-codecs.ts';
import type { RawImage } from '../../shared/preprocess/types.ts';
import type { ObjectStore } from '../../shared/store/types.ts';
import { imageId } from '../datasets/load.ts';
import { withLabel } from '../datasets/stream.ts';
import type { Dataset, Sample } from '../datasets/types.ts';

/** A decoded feedback sample, labelled by name (label indices depend on the final label list). */
export interface LabelledImage {
  id: string;
  label: string;
  image: RawImage;
  source: string;
  record: FeedbackRecord;
}

export interface FeedbackData {
  train: LabelledImage[];
  holdout: LabelledImage[];
  records: number;
  /** Trusted records among them. */
  trusted: number;
  /** Untrusted samples received after `since`: the batch the poisoned-feedback check judges. */
  fresh: LabelledImage[];
  /** receivedAt of the newest record (null without feedback). */
  newest: string | null;
}

/** Default share of feedback images held out for evaluation. */
export const DEFAULT_HOLDOUT_FRACTION = 0.2;

/** Whether an image (by its sha256) belongs to the fixed held-out slice. */
export function isHoldoutImage(sha256: string, fraction: number): boolean {
  return Number.parseInt(sha256.slice(0, 8), 16) / 2 ** 32 < fraction;
}

export async function loadFeedbackData(
  store: ObjectStore,
  model: string,
  options: {
    holdoutFraction?: number;
    signal?: AbortSignal;
    target?: DecodeTarget;
    since?: Date | null;
  } = {},
): Promise<FeedbackData> {
  const fraction = options.holdoutFraction ?? DEFAULT_HOLDOUT_FRACTION;
  if (!(fraction >= 0 && fraction < 1)) {
    throw new EdgetuneError('bad_request', `holdout fraction must be in [0, 1), got ${fraction}`);
  }
  const records = await listFeedback(store, model);
  const train: LabelledImage[] = [];
  const holdout: LabelledImage[] = [];
  const fresh: LabelledImage[] = [];
  const since = options.since?.getTime() ?? null;
  for (const record of records) {
    options.signal?.throwIfAborted();
    const sample = await decodeRecord(store, record, options.target);
    const judges = record.trusted && isHoldoutImage(record.image.sha256, fraction);
    (judges ? holdout : train).push(sample);
    if (!record.trusted && (since === null || new Date(record.receivedAt).getTime() > since)) {
      fresh.push(sample);
    }
  }
  return {
    train,
    holdout,
    fresh,
    records: records.length,
    trusted: records.filter((r) => r.trusted).length,
    newest: records.at(-1)?.receivedAt ?? null,
  };
}

async function decodeRecord(
  store: ObjectStore,
  record: FeedbackRecord,
  target: DecodeTarget | undefined,
): Promise<LabelledImage> {
  const bytes = await readFeedbackImage(store, record);
  await installNodeCodecs();
  let image: RawImage;
  try {
    const { width, height, channels, data } = decodeImage(bytes, {
      keepGrey: true,
      ...(target ? { target } : {}),
    });
    image = { width, height, channels, data };
  } catch (e) {
    throw new EdgetuneError('invalid_image', `feedback ${record.id}: ${errorMessage(e)}`, { cause: e });
  }
  return { id: imageId(image), label: record.label, image, source: `feedback/${record.id}`, record };
}

/**
 * Labels of a retrained model: the base labels in their order, then labels only feedback has
 * (new classes the policy allowed), sorted.
 */
export function mergedLabels(base: readonly string[], extra: readonly { label: string }[]): string[] {
  const known = new Set(base);
  const added = [...new Set(extra.map((s) => s.label).filter((l) => !known.has(l)))].sort();
  return [...base, ...added];
}

/**
 * A dataset from base samples (streamed ones stay streamed: decoded on read, never held) (labelled by their dataset's label list) and feedback
 * samples, all relabelled against `labels`. Samples whose pixels are in `exclude` are dropped
 * (a training image must never also be a holdout image).
 */
export function combineDataset(
  name: string,
  spec: string,
  labels: readonly string[],
  parts: { base?: Dataset; feedback?: readonly Omit<LabelledImage, 'record'>[] },
  exclude: ReadonlySet<string> = new Set(),
): Dataset {
  const index = new Map(labels.map((l, i) => [l, i]));
  const at = (label: string): number => {
    const i = index.get(label);
    if (i === undefined) throw new EdgetuneError('internal', `label ${label} is not in the merged labels`);
    return i;
  };
  const samples: Sample[] = [];
  for (const s of parts.base?.samples ?? []) {
    if (!exclude.has(s.id)) samples.push(withLabel(s, at(parts.base!.labels[s.label]!)));
  }
  for (const s of parts.feedback ?? []) {
    if (!exclude.has(s.id)) samples.push({ id: s.id, label: at(s.label), image: s.image, source: s.source });
  }
  return { name, spec, labels: [...labels], samples, warnings: [...(parts.base?.warnings ?? [])] };
}
