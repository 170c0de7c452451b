/**
 * The backbone of a training run: its ONNX graph (what the prefix and the export are made of),
 * the preprocessing its metadata declares, and — where one exists — a way to load it as a tfjs
 * layers model, which `--trainable N` needs to rebuild and re-train its last layers:
 *   nsfwjs:<model>       the bundled Keras model
 *   tfjs:<model.json>    the model itself
 *   <file.onnx>          `<file.onnx>.tfjs/model.json` when `edgetune pretrain` left it there
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
import type { onnx } from '../../shared/onnx/proto.ts';
import type { BackboneMetadata } from '../backbones/convert/metadata.ts';
import { importBackbone, parseBackboneSource } from '../backbones/import.ts';
import { loadNsfwjsModel } from '../backbones/nsfwjs.ts';
import { loadTfjsLayersModel } from '../backbones/tfjs-file.ts';

export interface TrainBackbone {
  /** Canonical source, recorded in the manifest. */
  source: string;
  /** The --backbone argument as given (for messages). */
  given: string;
  bytes: Uint8Array;
  model: onnx.ModelProto;
  sha256: string;
  metadata: BackboneMetadata;
  /** How images become the backbone input (NCHW). */
  preprocess: PreprocessSpec;
  /** Where the tfjs layers model comes from, when there is one. */
  kerasSource?: string;
  loadKeras?: () => Promise<tf.LayersModel>;
  warnings: string[];
}

export async function resolveBackbone(source: string, log?: (m: string) => void): Promise<TrainBackbone> {
  const parsed = parseBackboneSource(source);
  const imported = await importBackbone(source, { log });
  const warnings: string[] = [];
  const preprocess = imported.metadata.preprocess ?? guessPreprocess(imported.metadata, warnings);
  let loadKeras: TrainBackbone['loadKeras'];
  let kerasSource: string | undefined;
  if (parsed.kind === 'nsfwjs') {
    kerasSource = source;
    loadKeras = () => loadNsfwjsModel(parsed.model);
  } else if (parsed.kind === 'tfjs') {
    kerasSource = parsed.path;
    loadKeras = () => loadTfjsLayersModel(parsed.path);
  } else {
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
    model: imported.model,
    sha256: createHash('sha256').update(imported.bytes).digest('hex'),
    metadata: imported.metadata,
    // A new training run records the current resize whatever the backbone's metadata was written
    // with; published versions keep theirs (their manifests are never rewritten).
    preprocess: PreprocessSpecSchema.parse({ ...preprocess, layout: 'NCHW', resize: CURRENT_RESIZE }),
    kerasSource,
    loadKeras,
    warnings,
  };
}

/** A plain ONNX file without edgetune metadata: NCHW input of its declared size, values 0..1. */
function guessPreprocess(meta: BackboneMetadata, warnings: string[]): PreprocessSpec {
  const shape = meta.input?.shape;
  const [, c, h, w] = shape ?? [];
  if (typeof c !== 'number' || typeof h !== 'number' || typeof w !== 'number' || (c !== 1 && c !== 3)) {
    throw new EdgetuneError(
      'bad_request',
      'the backbone has no edgetune preprocessing metadata and no fixed [N, 1|3, H, W] input: convert it ' +
        'with `edgetune backbone import` (which records the input range) first',
    );
  }
  warnings.push('backbone has no preprocessing metadata: assuming NCHW input with values 0..1');
  return PreprocessSpecSchema.parse({ width: w, height: h, channels: c, layout: 'NCHW' });
}
