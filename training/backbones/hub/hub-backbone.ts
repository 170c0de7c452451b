/**
 * A hub source made local: the ONNX file (cached by sha256, verified against a pin) and what the
 * repository's config files say about its input. The result is a file on disk like any other
 * backbone, so everything after this (preparation, training, import-model) is the file path.
 */
import { inputDims } from '../../../shared/onnx/input-shape.ts';
import type { ModelProto } from '../../../shared/onnx/proto.ts';
import type { InputOptions } from '../input-options.ts';
import { download, isOffline, stderrProgress } from './download.ts';
import { type HubModelConfig, mergeInputOptions, readHubConfig } from './hub-config.ts';
import { formatHubRef, hubFileUrl, parseHubRef } from './hub-ref.ts';

export interface HubBackbone {
  /** Canonical source: `hf:<org>/<repo>@<revision>/<file>` or the URL. */
  source: string;
  url: string;
  bytes: Uint8Array;
  sha256: string;
  /** The cached file. */
  path: string;
  cached: boolean;
  config: HubModelConfig;
}

export interface FetchHubOptions {
  sha256?: string;
  /** Progress lines (stderr) unless quiet; messages such as "cached". */
  quiet?: boolean;
  log?: (message: string) => void;
  env?: NodeJS.ProcessEnv;
  cacheDir?: string;
}

export async function fetchHubBackbone(source: string, o: FetchHubOptions = {}): Promise<HubBackbone> {
  const env = o.env ?? process.env;
  const ref = parseHubRef(source);
  const token = ref.kind === 'hf' ? env.HF_TOKEN?.trim() || undefined : undefined;
  const common = { token, offline: isOffline(env), cacheDir: o.cacheDir };
  const url = hubFileUrl(ref, undefined, env);
  const model = await download(url, {
    ...common,
    sha256: o.sha256,
    onProgress: o.quiet ? undefined : stderrProgress(formatHubRef(ref)),
  });
  if (model.cached) o.log?.(`${formatHubRef(ref)}: cached (sha256 ${model.sha256.slice(0, 12)}…)`);
  // The repository's own description of the input, when it has one (transformers.js layout).
  const optional = async (file: string) =>
    (await download(hubFileUrl(ref, file, env), { ...common, optional: true }))?.bytes;
  const config = readHubConfig({
    preprocessor: await optional('preprocessor_config.json'),
    config: await optional('config.json'),
  });
  for (const w of config.warnings) o.log?.(`warning: ${w}`);
  return {
    source: formatHubRef(ref),
    url,
    bytes: model.bytes,
    sha256: model.sha256,
    path: model.path,
    cached: model.cached,
    config,
  };
}

/**
 * The user's flags plus what the repository says. The repository's size only applies to a graph
 * whose height/width are dynamic: a fixed input is what the graph was exported for.
 */
export function hubInputOptions(user: InputOptions, hub: HubModelConfig, model: ModelProto): InputOptions {
  const dims = inputDims(model);
  const dynamic = dims.length === 4 && dims.slice(1).some((d) => typeof d !== 'number');
  return mergeInputOptions(user, { ...hub.input, inputSize: dynamic ? hub.input.inputSize : undefined });
}
