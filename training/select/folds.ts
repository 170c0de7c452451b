/**
 * Stratified k-fold assignment: within each class a seeded shuffle, then round-robin over the
 * folds, so every fold holds (almost) the same number of images of every class. With 10 labels
 * per class and k = 5 each fold holds 2 per class.
 */
import { EdgetuneError } from '../../shared/errors.ts';
import { createRng, shuffled } from '../../shared/random.ts';

/** k ≤ the smallest class (a fold without a class cannot score it); at most `max`. */
export function foldCount(y: Int32Array, classes: number, max = 5): number {
  const counts = new Array<number>(classes).fill(0);
  for (const c of y) counts[c]!++;
  const smallest = Math.min(...counts);
  if (smallest < 2) {
    throw new EdgetuneError(
      'bad_request',
      `--select auto cross-validates and needs at least 2 labelled images in every class; the smallest class has ${smallest}`,
    );
  }
  return Math.min(max, smallest);
}

/** The held-out indices of each of the k folds (every index in exactly one fold). */
export function stratifiedFolds(y: Int32Array, k: number, seed: number): number[][] {
  const byClass = new Map<number, number[]>();
  y.forEach((c, i) => {
    const list = byClass.get(c) ?? [];
    list.push(i);
    byClass.set(c, list);
  });
  const rng = createRng(seed >>> 0);
  const folds: number[][] = Array.from({ length: k }, () => []);
  let offset = 0;
  for (const c of [...byClass.keys()].sort((a, b) => a - b)) {
    // Rotating the starting fold per class keeps fold sizes within one of each other.
    shuffled(byClass.get(c)!, rng).forEach((idx, j) => {
      folds[(offset + j) % k]!.push(idx);
    });
    offset += byClass.get(c)!.length;
  }
  return folds;
}

/**
 * Inside the training folds, the same stratified validation split the final training makes
 * (a fraction per class, at least one, every class keeping one for training): early stopping
 * sees what it will see when the winner is retrained.
 */
export function innerSplit(
  y: Int32Array,
  idx: readonly number[],
  valFraction: number,
  seed: number,
): { train: number[]; val: number[] } {
  const byClass = new Map<number, number[]>();
  for (const i of idx) {
    const list = byClass.get(y[i]!) ?? [];
    list.push(i);
    byClass.set(y[i]!, list);
  }
  const rng = createRng((seed ^ 0x5bd1e995) >>> 0);
  const train: number[] = [];
  const val: number[] = [];
  for (const c of [...byClass.keys()].sort((a, b) => a - b)) {
    const list = shuffled(byClass.get(c)!, rng);
    const nVal =
      list.length < 2 ? 0 : Math.min(list.length - 1, Math.max(1, Math.round(list.length * valFraction)));
    val.push(...list.slice(0, nVal));
    train.push(...list.slice(nVal));
  }
  return { train, val };
}

/** One train/predict split of the search: the held-out fold and the inner split of the rest. */
export interface Split {
  /** Which shuffle of the labelled images (0 = the first). */
  repeat: number;
  fold: number;
  held: number[];
  train: number[];
  val: number[];
}

/**
 * Repeated stratified k-fold: `repeats` independent shuffles, each cut into k folds, listed
 * shuffle by shuffle. Every configuration that is scored on a split is scored on the same one,
 * so two configurations can be compared split by split (paired), which removes the luck of which
 * images landed in which fold from their difference.
 */
export function splitPlan(
  y: Int32Array,
  k: number,
  repeats: number,
  seed: number,
  valFraction: number,
): Split[] {
  const out: Split[] = [];
  for (let r = 0; r < repeats; r++) {
    // Repeat 0 is the plain k-fold of `seed`, so a single repeat reproduces it.
    const folds = stratifiedFolds(y, k, r === 0 ? seed : seed + 7919 * r);
    folds.forEach((held, f) => {
      const rest = folds.flatMap((fold, j) => (j === f ? [] : fold));
      const inner = innerSplit(y, rest, valFraction, seed + f + 1009 * r);
      out.push({ repeat: r, fold: f, held, ...inner });
    });
  }
  return out;
}
