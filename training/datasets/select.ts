import { EdgetuneError } from '../../shared/errors.ts';
import { createRng, shuffled } from '../../shared/random.ts';
import { type DatasetSpec, expandClassSelectors } from './spec.ts';
import type { Candidate, SourceListing } from './types.ts';

/** FNV-1a, to give every class its own selection stream from one seed. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export interface Selection {
  labels: string[];
  /** The chosen candidates with their label index, class by class. */
  chosen: { label: number; candidate: Candidate }[];
}

/**
 * Per class, candidates are put in a seeded random order, `skip-per-class` are dropped and
 * `per-class` taken, so the same seed always selects the same images and `per-class=N` /
 * `skip-per-class=N` are disjoint. Labels follow the natural order of the selected class names.
 * The in-memory loader and the streamed listing both select through here, so they agree.
 */
export function selectCandidates(parsed: DatasetSpec, listing: SourceListing, seed: number): Selection {
  const wanted = parsed.classes ? new Set(expandClassSelectors(parsed.classes, listing.classes)) : undefined;
  const labels = listing.classes.filter((c) => !wanted || wanted.has(c));
  const byClass = new Map<string, Candidate[]>(labels.map((c) => [c, []]));
  for (const c of listing.candidates) byClass.get(c.className)?.push(c);
  const selectionSeed = parsed.seed ?? seed;
  const chosen: Selection['chosen'] = [];
  for (const [label, className] of labels.entries()) {
    const all = byClass.get(className)!;
    if (all.length === 0) {
      throw new EdgetuneError('bad_request', `dataset "${parsed.text}": class "${className}" has no images`);
    }
    const order = shuffled(all, createRng((selectionSeed ^ hashString(className)) >>> 0));
    const rest = order.slice(parsed.skipPerClass);
    const take = parsed.perClass ?? rest.length;
    if (rest.length === 0 || rest.length < take) {
      throw new EdgetuneError(
        'bad_request',
        `dataset "${parsed.text}": class "${className}" has ${all.length} images; ` +
          `skip-per-class=${parsed.skipPerClass}${parsed.perClass ? ` and per-class=${parsed.perClass}` : ''} need ${parsed.skipPerClass + Math.max(take, 1)}`,
      );
    }
    for (const candidate of rest.slice(0, take)) chosen.push({ label, candidate });
  }
  return { labels, chosen };
}
