/**
 * Resolving a backbone source string to ONNX bytes plus the metadata the converter wrote:
 *
 *   nsfwjs:MobileNetV2 | nsfwjs:InceptionV3   bundled pretrained models (converted once, cached)
 *   tfjs:<path/to/model.json>                 any tfjs layers (Keras) model on disk
 *   <path/to/file.onnx> (or onnx:<path>)      an existing ONNX model, e.g. from `edgetune pretrain`
 *   hf:<org>/<repo>[@rev][/file.onnx], https://…/model.onnx   a model hub file (hub/, cached)
 */
import fs from 'node:fs';
import path from 'node:path';
import { EdgetuneError, errorMessage } from '../../shared/errors.ts';
import { decodeModel, type onnx } from '../../shared/onnx/proto.ts';
import { convertLayersModel } from './convert/index.ts';
import { type BackboneMetadata, readBackboneMetadata } from './convert/metadata.ts';
import { isNsfwjsModelName, NSFWJS_MODELS, type NsfwjsModelName, nsfwjsOnnx } from './nsfwjs.ts';
import { ensureTf } from '../tf/backend.ts';
import { fetchHubBackbone } from './hub/hub-backbone.ts';
import type { HubModelConfig } from './hub/hub-config.ts';
import { isHubSource } from './hub/hub-ref.ts';
import { loadTfjsLayersModel } from './tfjs-file.ts';

export type BackboneSource =
  | { kind: 'nsfwjs'; model: NsfwjsModelName }
  | { kind: 'tfjs'; path: string }
  | { kind: 'onnx'; path: string }
  | { kind: 'hub'; source: string };

const SOURCE_FORMS = `nsfwjs:${Object.keys(NSFWJS_MODELS).join('|')}, tfjs:<path/to/model.json>, <path/to/model.onnx>, hf:<org>/<repo>[@revision][/file.onnx] or https://…/model.onnx`;

/** Parses a `--backbone` / import source string (no I/O). */
export function parseBackboneSource(source: string): BackboneSource {
  const s = source.trim();
  const lower = s.toLowerCase();
  if (lower.startsWith('nsfwjs:')) {
    const wanted = s.slice('nsfwjs:'.length);
    const match = Object.keys(NSFWJS_MODELS).find((m) => m.toLowerCase() === wanted.toLowerCase());
    if (match === undefined || !isNsfwjsModelName(match)) {
      throw new EdgetuneError(
        'bad_request',
        `unknown nsfwjs model '${wanted}' (available: ${Object.keys(NSFWJS_MODELS).join(', ')})`,
      );
    }
    return { kind: 'nsfwjs', model: match };
  }
  if (lower.startsWith('tfjs:')) {
    const p = s.slice('tfjs:'.length);
    if (!p) throw new EdgetuneError('bad_request', 'tfjs: needs a path to a model.json');
    return { kind: 'tfjs', path: path.resolve(p) };
  }
  if (isHubSource(s)) return { kind: 'hub', source: s };
  if (lower.startsWith('onnx:')) return { kind: 'onnx', path: path.resolve(s.slice('onnx:'.length)) };
  if (lower.endsWith('.onnx')) return { kind: 'onnx', path: path.resolve(s) };
  throw new EdgetuneError('bad_request', `unrecognised backbone source '${source}' (use ${SOURCE_FORMS})`);
}

export interface ImportOptions {
  /** For tfjs: sources: the value range the model expects (stored in metadata). */
  inputRange?: [number, number];
  /** For tfjs: sources: class labels of the output. */
  labels?: string[];
  /** For hub sources: the sha256 the downloaded file must have (`--sha256`, training recipes). */
  sha256?: string;
  log?: (message: string) => void;
}

export interface ImportedBackbone {
  /** Canonical source, e.g. "nsfwjs:MobileNetV2@4.4.0", "tfjs:/abs/model.json", "onnx:/abs/b.onnx". */
  source: string;
  bytes: Uint8Array;
  model: onnx.ModelProto;
  metadata: BackboneMetadata;
  /** The cache file (nsfwjs) or the file read (onnx). */
  path?: string;
  /** true when the bytes came from the conversion (or download) cache. */
  cached: boolean;
  /** For hub sources: what the repository's config files say about the input and labels. */
  hub?: HubModelConfig;
}

/** Resolves a source string to ONNX bytes and metadata; converts (and caches) as needed. */
export async function importBackbone(source: string, options: ImportOptions = {}): Promise<ImportedBackbone> {
  const parsed = parseBackboneSource(source);
  switch (parsed.kind) {
    case 'nsfwjs': {
      const r = await nsfwjsOnnx(parsed.model, { log: options.log });
      const model = decodeModel(r.bytes);
      const metadata = readBackboneMetadata(model);
      return {
        source: metadata.source ?? `nsfwjs:${parsed.model}`,
        bytes: r.bytes,
        model,
        metadata,
        path: r.path,
        cached: r.cached,
      };
    }
    case 'tfjs': {
      // Loading builds tensors: the backend must be ready (tfjs-backend-wasm registers itself
      // with the highest priority as soon as any module imports it).
      await ensureTf();
      const keras = await loadTfjsLayersModel(parsed.path);
      try {
        const converted = convertLayersModel(keras, {
          source: `tfjs:${parsed.path}`,
          inputRange: options.inputRange,
          labels: options.labels,
        });
        const metadata = readBackboneMetadata(converted.model);
        return {
          source: `tfjs:${parsed.path}`,
          bytes: converted.bytes,
          model: converted.model,
          metadata,
          cached: false,
        };
      } finally {
        keras.dispose();
      }
    }
    case 'onnx': {
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(fs.readFileSync(parsed.path));
      } catch (e) {
        throw new EdgetuneError('not_found', `cannot read ${parsed.path}: ${errorMessage(e)}`, { cause: e });
      }
      const model = decodeModel(bytes);
      const metadata = readBackboneMetadata(model);
      return {
        source: metadata.source ?? `onnx:${parsed.path}`,
        bytes,
        model,
        metadata,
        path: parsed.path,
        cached: false,
      };
    }
    case 'hub': {
      const h = await fetchHubBackbone(parsed.source, {
        sha256: options.sha256,
        log: options.log,
        quiet: !options.log,
      });
      const model = decodeModel(h.bytes);
      return {
        source: h.source,
        bytes: h.bytes,
        model,
        metadata: readBackboneMetadata(model),
        path: h.path,
        cached: h.cached,
        hub: h.config,
      };
    }
  }
}
