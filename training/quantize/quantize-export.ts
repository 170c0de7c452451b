/**
 * `edgetune quantize <export-dir>`: adds an int8 variant to an existing export. Calibration runs
 * on `--calibration` images; the gate on `--test-data`, or, without it, on a held-out split of the
 * calibration dataset (calibrating on the rest), so the gate never sees a calibration image.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { EdgetuneError } from '../../shared/errors.ts';
import type { ModelManifest } from '../../shared/manifest/manifest.ts';
import { decodeTargetFor } from '../../shared/preprocess/preprocess.ts';
import { loadDataset, splitDataset } from '../datasets/index.ts';
import type { Dataset } from '../datasets/types.ts';
import type { CalibrationMethod } from './calibrate.ts';
import { DEFAULT_CALIBRATION_SAMPLES, readExportManifest, writeInt8ToExportDir } from './export-dir.ts';
import type { ActivationBits } from './qdq.ts';
import { type QuantizeOutcome, quantizeInt8 } from './variant.ts';

export interface QuantizeExportOptions {
  dir: string;
  calibration: string;
  testData?: string;
  maxAccuracyDropPoints?: number;
  method?: CalibrationMethod | 'auto';
  activationBits?: ActivationBits;
  calibrationSamples?: number;
  seed?: number;
  cwd?: string;
  log?: (line: string) => void;
}

/** Labels of `ds` as indices into the export's labels (matched by name). */
function labelsFor(ds: Dataset, labels: readonly string[], flag: string): Int32Array {
  const index = new Map(labels.map((l, i) => [l, i]));
  return Int32Array.from(ds.samples, (s) => {
    const name = ds.labels[s.label]!;
    const i = index.get(name);
    if (i === undefined) {
      throw new EdgetuneError(
        'bad_request',
        `${flag} has class "${name}", which the model does not know (${labels.join(', ')})`,
      );
    }
    return i;
  });
}

/** The export's fp32 model, checked against the manifest's size and sha256. */
function readModel(dir: string, manifest: ModelManifest): Uint8Array {
  const file = path.join(dir, manifest.model.file);
  if (!fs.existsSync(file)) throw new EdgetuneError('not_found', `${file} not found`);
  const bytes = new Uint8Array(fs.readFileSync(file));
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== manifest.model.sha256 || bytes.byteLength !== manifest.model.size) {
    throw new EdgetuneError(
      'checksum_mismatch',
      `${file} does not match its manifest (sha256 ${sha.slice(0, 12)}…)`,
    );
  }
  return bytes;
}

export async function quantizeExportDir(
  o: QuantizeExportOptions,
): Promise<{ manifest: ModelManifest; outcome: QuantizeOutcome }> {
  const dir = path.resolve(o.cwd ?? process.cwd(), o.dir);
  const manifest = readExportManifest(dir);
  const fp32 = readModel(dir, manifest);
  const seed = o.seed ?? 1;
  const load = { seed, cwd: o.cwd, ...decodeTargetFor(manifest.preprocess), log: o.log };
  const cal = await loadDataset(o.calibration, load);
  let calibrationSet = cal;
  let heldOut: Dataset;
  if (o.testData) heldOut = await loadDataset(o.testData, load);
  else ({ train: calibrationSet, val: heldOut } = splitDataset(cal, { valFraction: 0.2, seed }));
  const limit = o.calibrationSamples ?? DEFAULT_CALIBRATION_SAMPLES;
  const outcome = await quantizeInt8(fp32, {
    calibration: calibrationSet.samples.slice(0, limit).map((s) => s.image),
    heldOut: {
      images: heldOut.samples.map((s) => s.image),
      labels: labelsFor(heldOut, manifest.labels, o.testData ? '--test-data' : '--calibration'),
    },
    preprocess: manifest.preprocess,
    maxAccuracyDropPoints: o.maxAccuracyDropPoints,
    method: o.method,
    activationBits: o.activationBits,
    log: o.log,
  });
  return { manifest: writeInt8ToExportDir(dir, manifest, outcome), outcome };
}
