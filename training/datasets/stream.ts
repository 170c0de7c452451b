/**
 * Streamed datasets: listing is eager and cheap (paths, labels, sizes, sha256 of the file bytes),
 * decoding is lazy. A streamed sample's `image` decodes its file on every read and keeps nothing,
 * so a dataset of any size costs memory per listed file, not per decoded picture; feature
 * extraction decodes them in a worker pool (training/features/stream.ts) straight to the model
 * input and drops the pixels once the batch's activations are cached.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { EdgetuneError, errorMessage } from '../../shared/errors.ts';
import type { DecodeTarget } from '../../shared/preprocess/shrink.ts';
import type { RawImage } from '../../shared/preprocess/types.ts';
import { createRng, shuffled } from '../../shared/random.ts';
import { installNodeCodecs } from '../images/node-codecs.ts';
import { decodeCounters } from './decode-counters.ts';
import { listSource, loadDataset } from './load.ts';
import { selectCandidates } from './select.ts';
import { decodeImageBytes } from './sources/common.ts';
import { type DatasetSpec, parseDatasetSpec } from './spec.ts';
import type { Dataset, Sample } from './types.ts';

/** Dataset kinds backed by image files, which can be listed without decoding. */
export function isStreamable(spec: string | DatasetSpec): boolean {
  const kind = (typeof spec === 'string' ? parseDatasetSpec(spec) : spec).kind;
  return kind === 'folder' || kind === 'csv';
}

export interface ListDatasetOptions {
  seed: number;
  cwd?: string;
  /** Where a sample's `image` decodes towards (the model input; see decodeTargetFor). */
  target?: DecodeTarget;
  log?: (message: string) => void;
}

/** sha256 (hex) of a file's bytes and its size, read in 1 MiB chunks so no file is held whole. */
async function hashFile(path: string): Promise<{ id: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  let handle: import('node:fs/promises').FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'not_found' : 'bad_request';
    throw new EdgetuneError(code, `cannot read image ${path}: ${errorMessage(e)}`, { cause: e });
  }
  try {
    const chunk = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      hash.update(chunk.subarray(0, bytesRead));
      bytes += bytesRead;
    }
  } finally {
    await handle.close();
  }
  return { id: hash.digest('hex'), bytes };
}

/** Reads and decodes one file now (counted in decodeCounters); nothing is kept. */
export function decodeFileNow(path: string, target?: DecodeTarget): RawImage {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'not_found' : 'bad_request';
    throw new EdgetuneError(code, `cannot read image ${path}: ${errorMessage(e)}`, { cause: e });
  }
  decodeCounters.images++;
  return decodeImageBytes(path, bytes, target);
}

function streamedSample(
  id: string,
  label: number,
  source: string,
  path: string,
  bytes: number,
  target?: DecodeTarget,
): Sample {
  return {
    id,
    label,
    source,
    file: { path, bytes },
    get image(): RawImage {
      return decodeFileNow(path, target);
    },
  };
}

/**
 * The same sample under another label index. Streamed samples keep decoding on read: spreading
 * one (`{...s}`) would call its `image` getter once and hold the decoded picture for good.
 */
export function withLabel(sample: Sample, label: number): Sample {
  const { id, source, file } = sample;
  return {
    id,
    label,
    source,
    ...(file ? { file } : {}),
    get image(): RawImage {
      return sample.image;
    },
  };
}

/** Reads a dataset spec: image files are listed and decoded batch by batch, others loaded now. */
export function readDataset(spec: string, options: ListDatasetOptions): Promise<Dataset> {
  return isStreamable(spec) ? listDataset(spec, options) : loadDataset(spec, options);
}

/**
 * Lists a file-backed dataset spec (folder:, csv:) with the same per-class selection as
 * loadDataset, hashing each selected file's bytes for its id. The result is a Dataset whose
 * samples decode on demand; `warnings` has what the listing knows (sizes are only known once
 * images are decoded).
 */
export async function listDataset(spec: string | DatasetSpec, options: ListDatasetOptions): Promise<Dataset> {
  const parsed = typeof spec === 'string' ? parseDatasetSpec(spec) : spec;
  if (!isStreamable(parsed)) {
    throw new EdgetuneError(
      'bad_request',
      `dataset "${parsed.text}" is not made of image files: it cannot be streamed`,
    );
  }
  const started = performance.now();
  const listing = await listSource(parsed, options.cwd ?? process.cwd());
  const { labels, chosen } = selectCandidates(parsed, listing, options.seed);
  // The codecs must be ready before any synchronous `image` read.
  await installNodeCodecs();
  const samples: Sample[] = [];
  let totalBytes = 0;
  for (const { label, candidate } of chosen) {
    const file = candidate.file;
    if (file === undefined) throw new Error(`internal: candidate ${candidate.source} has no file`);
    const { id, bytes } = await hashFile(file);
    totalBytes += bytes;
    samples.push(streamedSample(id, label, candidate.source, file, bytes, options.target));
  }
  const seconds = (performance.now() - started) / 1000;
  options.log?.(
    `listed ${samples.length} images of ${parsed.text} (${(totalBytes / 1e6).toFixed(1)} MB) in ${seconds.toFixed(1)} s; ` +
      'they are decoded batch by batch',
  );
  const warnings = [...listing.warnings];
  if (labels.length < 2) warnings.push(`only one class (${labels[0]}): a classifier needs at least two`);
  return {
    name: listing.name,
    spec: parsed.text,
    labels,
    samples: shuffled(samples, createRng(options.seed >>> 0)),
    warnings,
  };
}
