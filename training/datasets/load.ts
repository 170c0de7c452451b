import { createHash } from 'node:crypto';
import { EdgetuneError } from '../../shared/errors.ts';
import type { DecodeTarget } from '../../shared/preprocess/shrink.ts';
import type { RawImage } from '../../shared/preprocess/types.ts';
import { createRng, shuffled } from '../../shared/random.ts';
import { listCsv } from './sources/csv.ts';
import { listFolder } from './sources/folder.ts';
import { listIdx } from './sources/idx.ts';
import { listMnist } from './sources/mnist.ts';
import { listOpencvDigits } from './sources/opencv-digits.ts';
import { type DatasetSpec, expandClassSelectors, parseDatasetSpec } from './spec.ts';
import type { Candidate, Dataset, Sample, SourceListing } from './types.ts';

export interface LoadDatasetOptions {
  /** Drives the per-class selection (unless the spec pins `seed=`) and the sample order. */
  seed: number;
  /** Base for relative paths in the spec; process.cwd() by default. */
  cwd?: string;
  /**
   * The model input size (see decodeTargetFor): image files are decoded towards it with
   * shrink-on-load. Omit for full-size decodes (versions whose preprocessing is `bilinear`).
   */
  target?: DecodeTarget;
  /** Told how fast images were decoded once loading is done. */
  log?: (message: string) => void;
}

/** sha256 of shape + pixels: the same picture gets the same id whatever file it came from. */
export function imageId(image: RawImage): string {
  return createHash('sha256')
    .update(`${image.width}x${image.height}x${image.channels}\n`)
    .update(image.data)
    .digest('hex');
}

/** FNV-1a, to give every class its own selection stream from one seed. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function list(spec: DatasetSpec, cwd: string): Promise<SourceListing> {
  switch (spec.kind) {
    case 'mnist':
      return listMnist();
    case 'idx':
      return listIdx(spec.images, spec.labels, cwd);
    case 'folder':
      return listFolder(spec.dir, cwd);
    case 'csv':
      return listCsv(spec.file, cwd);
    case 'opencv-digits':
      return listOpencvDigits(spec.file, cwd);
  }
}

/**
 * Loads a dataset spec (see spec.ts) into memory. Per class, images are put in a seeded random
 * order, `skip-per-class` are dropped and `per-class` taken, so the same seed always selects the
 * same images and `per-class=N` / `skip-per-class=N` are disjoint. Labels follow the natural
 * order of the selected class names. Throws EdgetuneError for unknown classes, empty classes,
 * too few images, missing or unreadable files.
 */
export async function loadDataset(spec: string | DatasetSpec, options: LoadDatasetOptions): Promise<Dataset> {
  const parsed = typeof spec === 'string' ? parseDatasetSpec(spec) : spec;
  const listing = await list(parsed, options.cwd ?? process.cwd());
  const wanted = parsed.classes ? new Set(expandClassSelectors(parsed.classes, listing.classes)) : undefined;
  const labels = listing.classes.filter((c) => !wanted || wanted.has(c));
  const byClass = new Map<string, Candidate[]>(labels.map((c) => [c, []]));
  for (const c of listing.candidates) byClass.get(c.className)?.push(c);

  const selectionSeed = parsed.seed ?? options.seed;
  const samples: Sample[] = [];
  const started = performance.now();
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
    for (const c of rest.slice(0, take)) {
      const image = await c.load(options.target);
      samples.push({ id: imageId(image), label, image, source: c.source });
    }
  }

  const seconds = (performance.now() - started) / 1000;
  options.log?.(
    `loaded ${samples.length} images of ${parsed.text} in ${seconds.toFixed(1)} s (${(samples.length / Math.max(seconds, 1e-3)).toFixed(1)} images/s${options.target ? `, decoded towards ${options.target.width}×${options.target.height}` : ''})`,
  );
  const warnings = [...listing.warnings];
  const sizes = new Map<string, number>();
  for (const s of samples) {
    const key = `${s.image.width}×${s.image.height}`;
    sizes.set(key, (sizes.get(key) ?? 0) + 1);
  }
  if (sizes.size > 1) {
    const common = [...sizes.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([k, n]) => `${k} (${n})`);
    warnings.push(
      `images have ${sizes.size} different sizes, e.g. ${common.join(', ')}: all are resized to the model input`,
    );
  }
  const greyCount = samples.filter((s) => s.image.channels === 1).length;
  if (greyCount > 0 && greyCount < samples.length) {
    warnings.push(
      `${greyCount} of ${samples.length} images are grey: they are repeated to 3 channels for colour models`,
    );
  }
  if (labels.length < 2) warnings.push(`only one class (${labels[0]}): a classifier needs at least two`);

  return {
    name: listing.name,
    spec: parsed.text,
    labels,
    samples: shuffled(samples, createRng(options.seed >>> 0)),
    warnings,
  };
}
