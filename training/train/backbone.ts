/**
 * The backbone of a training run: its ONNX graph (what the prefix and the export are made of),
 * the preprocessing its metadata declares, and — where one exists — a way to load it as a tfjs
 * layers model, which `--trainable N` needs to rebuild and re-train its last layers:
 *   nsfwjs:<model>       the bundled Keras model
 *   tfjs:<model.json>    the model itself
 *   <file.onnx>          `<file.onnx>.tfjs/model.json` when `edgetune pretrain` left it there
 * A plain ONNX export is prepared from the graph and the user's preprocessing flags; a hub file
 * (hf:, https:) is downloaded into the cache first and prepared the same way, its repository's
 * config files filling the preprocessing the flags leave out.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { EdgetuneError } from '../../shared/errors.ts';
import {
  CURRENT_RESIZE,
  type PreprocessSpec,
  PreprocessSpecSchema,
} from '../../shared/manifest/preprocess.ts';
import type { ModelProto } from '../../shared/onnx/proto.ts';
import type { BackboneMetadata } from '../backbones/convert/metadata.ts';
import { importBackbone, parseBackboneSource } from '../backbones/import.ts';
import { hubInputOptions } from '../backbones/hub/hub-backbone.ts';
import { hasInputOptions, type InputOptions } from '../backbones/input-options.ts';
import { prepareOnnxBackbone } from '../backbones/onnx-file.ts';
import { loadNsfwjsModel } from '../backbones/nsfwjs.ts';
import { loadTfjsLayersModel } from '../backbones/tfjs-file.ts';

export interface TrainBackbone {
  /** Canonical source, recorded in the manifest. */
  source: string;
  /** The --backbone argument as given (for messages). */
  given: string;
  /** The file's bytes as given (what sha256 names and the store copy carries). */
  bytes: Uint8Array;
  /** The graph trained on: for a plain ONNX file, prepared by onnx-file.ts (same values). */
  model: ModelProto;
  sha256: string;
  metadata: BackboneMetadata;
  /** How images become the backbone input (NCHW). */
  preprocess: PreprocessSpec;
  /** Where the tfjs layers model comes from, when there is one. */
  kerasSource?: string;
  loadKeras?: () => Promise<tf.LayersModel>;
  warnings: string[];
}

export async function resolveBackbone(
  source: string,
  log?: (m: string) => void,
  input?: InputOptions,
  /** The sha256 the backbone file must have (`--sha256`, a recipe's record): else refused. */
  sha256?: string,
): Promise<TrainBackbone> {
  const parsed = parseBackboneSource(source);
  const onnxFile = parsed.kind === 'onnx' || parsed.kind === 'hub';
  if (hasInputOptions(input) && !onnxFile) {
    throw new EdgetuneError(
      'bad_request',
      `preprocessing flags (--preprocess, --mean, --std, --layout, --channels, --input-size) apply to .onnx backbones; ${source} declares its own`,
    );
  }
  const imported = await importBackbone(source, { log, sha256 });
  const actual = createHash('sha256').update(imported.bytes).digest('hex');
  if (sha256 && actual !== sha256.toLowerCase()) {
    throw new EdgetuneError(
      'checksum_mismatch',
      `backbone ${source} has sha256 ${actual}, expected ${sha256}: refused`,
      { status: 400 },
    );
  }
  if (imported.hub) input = hubInputOptions(input ?? {}, imported.hub, imported.model);
  const warnings: string[] = [];
  let model: ModelProto = imported.model;
  let metadata = imported.metadata;
  // A plain ONNX export (or one the user describes with flags) is prepared here, before any work.
  if (onnxFile && (hasInputOptions(input) || !metadata.preprocess)) {
    const prepared = prepareOnnxBackbone(imported.model, input ?? {});
    warnings.push(...prepared.warnings);
    model = prepared.model;
    metadata = {
      ...metadata,
      input: prepared.input,
      preprocess: prepared.preprocess,
      features: prepared.features,
    };
  }
  const preprocess = metadata.preprocess;
  if (!preprocess) throw new EdgetuneError('internal', `backbone ${source} has no preprocessing`);
  let loadKeras: TrainBackbone['loadKeras'];
  let kerasSource: string | undefined;
  if (parsed.kind === 'nsfwjs') {
    kerasSource = source;
    loadKeras = () => loadNsfwjsModel(parsed.model);
  } else if (parsed.kind === 'tfjs') {
    kerasSource = parsed.path;
    loadKeras = () => loadTfjsLayersModel(parsed.path);
  } else if (parsed.kind === 'onnx') {
    const sidecar = path.join(`${parsed.path}.tfjs`, 'model.json');
    if (fs.existsSync(sidecar)) {
      kerasSource = sidecar;
      loadKeras = () => loadTfjsLayersModel(sidecar);
    }
  }
  return {
    source: imported.source,
    given: source,
    bytes: imported.bytes,
    model,
    sha256: actual,
    metadata,
    // A new training run records the current resize whatever the backbone's metadata was written
    // with; published versions keep theirs (their manifests are never rewritten).
    preprocess: PreprocessSpecSchema.parse({ ...preprocess, layout: 'NCHW', resize: CURRENT_RESIZE }),
    kerasSource,
    loadKeras,
    warnings,
  };
}
