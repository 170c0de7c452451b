/**
 * A model argument (`import-model <model>`) as a file on disk: a path stays as it is; a hub
 * source is downloaded into the cache and its repository's config fills the input flags and
 * labels the user left out.
 */
import { EdgetuneError } from '../../../shared/errors.ts';
import { decodeModel } from '../../../shared/onnx/proto.ts';
import type { InputOptions } from '../input-options.ts';
import { fetchHubBackbone, hubInputOptions } from './hub-backbone.ts';
import { isHubSource } from './hub-ref.ts';

export interface LocalModelFile {
  file: string;
  /** Recorded in the manifest: the hub source for downloads, undefined for a plain file. */
  source?: string;
  input: InputOptions;
  labels?: string[];
}

export async function localModelFile(
  given: string,
  input: InputOptions,
  sha256: string | undefined,
  log?: (message: string) => void,
): Promise<LocalModelFile> {
  if (!isHubSource(given)) {
    if (sha256) throw new EdgetuneError('bad_request', '--sha256 applies to hf: and https: sources');
    return { file: given, input };
  }
  const h = await fetchHubBackbone(given, { sha256, log, quiet: !log });
  return {
    file: h.path,
    source: h.source,
    input: hubInputOptions(input, h.config, decodeModel(h.bytes)),
    labels: h.config.labels,
  };
}
