import { createHash } from 'node:crypto';
import type { DecodeTarget } from '../../shared/preprocess/shrink.ts';
import type { RawImage } from '../../shared/preprocess/types.ts';
import { createRng, shuffled } from '../../shared/random.ts';
import { listCsv } from './sources/csv.ts';
import { listFolder } from './sources/folder.ts';
import { listIdx } from './sources/idx.ts';
import { listMnist } from './sources/mnist.ts';
import { listOpencvDigits } from './sources/opencv-digits.ts';
import { selectCandidates } from './select.ts';
import { imageShapeWarnings } from './shape-warnings.ts';
import { type DatasetSpec, parseDatasetSpec } from './spec.ts';
import type { Dataset, Sample, SourceListing } from './types.ts';

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

export function listSource(spec: DatasetSpec, cwd: string): Promise<SourceListing> {
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
  const listing = await listSource(parsed, options.cwd ?? process.cwd());
  const { labels, chosen } = selectCandidates(parsed, listing, options.seed);
  const samples: Sample[] = [];
  const started = performance.now();
  for (const { label, candidate: c } of chosen) {
    const image = await c.load(options.target);
    samples.push({ id: imageId(image), label, image, source: c.source });
  }

  const seconds = (performance.now() - started) / 1000;
  options.log?.(
    `loaded ${samples.length} images of ${parsed.text} in ${seconds.toFixed(1)} s (${(samples.length / Math.max(seconds, 1e-3)).toFixed(1)} images/s${options.target ? `, decoded towards ${options.target.width}×${options.target.height}` : ''})`,
  );
  const warnings = [...listing.warnings, ...imageShapeWarnings(samples.map((s) => s.image))];
  if (labels.length < 2) warnings.push(`only one class (${labels[0]}): a classifier needs at least two`);

  return {
    name: listing.name,
    spec: parsed.text,
    labels,
    samples: shuffled(samples, createRng(options.seed >>> 0)),
    warnings,
  };
}
