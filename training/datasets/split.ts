import { EdgetuneError } from '../../shared/errors.ts';
import { createRng, shuffled } from '../../shared/random.ts';
import type { Dataset, Sample } from './types.ts';

export type SplitOptions = { seed: number } & (
  | { valFraction: number; valPerClass?: undefined }
  | { valPerClass: number; valFraction?: undefined }
);

export interface Split {
  train: Dataset;
  val: Dataset;
}

/** Number of samples per label index. */
export function classCounts(ds: Dataset): number[] {
  const counts = new Array<number>(ds.labels.length).fill(0);
  for (const s of ds.samples) counts[s.label]!++;
  return counts;
}

/**
 * Stratified split: in each class, a seeded shuffle, then `valPerClass` samples (or
 * round(n · valFraction), at least 1) go to validation. Every class keeps at least one training
 * sample. Both halves are shuffled; the same seed gives the same split.
 */
export function splitDataset(ds: Dataset, options: SplitOptions): Split {
  const { valFraction, valPerClass, seed } = options;
  if ((valFraction === undefined) === (valPerClass === undefined)) {
    throw new EdgetuneError('bad_request', 'split needs exactly one of valFraction and valPerClass');
  }
  if (valFraction !== undefined && !(valFraction > 0 && valFraction < 1)) {
    throw new EdgetuneError('bad_request', `validation fraction must be between 0 and 1, got ${valFraction}`);
  }
  if (valPerClass !== undefined && !(Number.isInteger(valPerClass) && valPerClass >= 1)) {
    throw new EdgetuneError(
      'bad_request',
      `validation samples per class must be a positive integer, got ${valPerClass}`,
    );
  }
  const rng = createRng(seed >>> 0);
  const byClass: Sample[][] = ds.labels.map(() => []);
  for (const s of ds.samples) byClass[s.label]!.push(s);
  const train: Sample[] = [];
  const val: Sample[] = [];
  byClass.forEach((members, label) => {
    const n = members.length;
    const k = valPerClass ?? Math.max(1, Math.round(n * valFraction!));
    if (k >= n) {
      throw new EdgetuneError(
        'bad_request',
        `class "${ds.labels[label]}" has ${n} samples: cannot hold out ${k} for validation and still train on it`,
      );
    }
    const order = shuffled(members, rng);
    val.push(...order.slice(0, k));
    train.push(...order.slice(k));
  });
  const part = (samples: Sample[], tag: string): Dataset => ({
    ...ds,
    spec: `${ds.spec} (${tag})`,
    samples: shuffled(samples, rng),
    warnings: [],
  });
  return { train: part(train, 'train'), val: part(val, 'val') };
}
