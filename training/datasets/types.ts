import type { DecodeTarget } from '../../shared/preprocess/shrink.ts';
import type { RawImage } from '../../shared/preprocess/types.ts';

export interface Sample {
  /** sha256 (hex) of the decoded pixels and their shape: stable across files, formats and runs. */
  id: string;
  /** Index into Dataset.labels. */
  label: number;
  /** Grey images stay 1 channel; they are resized and converted to the model input later. */
  image: RawImage;
  /** Where it came from, for reports and error messages (e.g. "mnist/3#17", "cats/tom.png"). */
  source: string;
  /**
   * Set on streamed samples (see stream.ts): the image file, whose bytes `id` hashes. Their
   * `image` decodes the file on every read and keeps nothing, so feature extraction decodes
   * them in a worker pool from `path` instead.
   */
  file?: { path: string; bytes: number };
}

export interface Dataset {
  name: string;
  /** The spec it was loaded from, normalised (e.g. "mnist:classes=5-9:per-class=10"). */
  spec: string;
  /** Class names; a sample's `label` indexes this list. */
  labels: string[];
  /** In a deterministic shuffled order (from the seed). */
  samples: Sample[];
  /** Things the user should know (mixed sizes, ignored files); the CLI prints them. */
  warnings: string[];
}

/**
 * One image a source can provide; `load` runs only for images that are selected. File sources
 * decode towards `target` (the model input size) with the same shrink-on-load as the edge.
 */
export interface Candidate {
  className: string;
  source: string;
  load: (target?: DecodeTarget) => RawImage | Promise<RawImage>;
  /** The image file behind it (file sources), so a dataset can be listed without decoding. */
  file?: string;
}

/** What a source kind yields before class filtering and per-class selection. */
export interface SourceListing {
  name: string;
  /** Class names in their natural order (digits numerically). */
  classes: string[];
  candidates: Candidate[];
  warnings: string[];
}
