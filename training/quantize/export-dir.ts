/**
 * Puts an int8 outcome into an export directory: the QDQ file when it passed its gate (removed
 * when it did not, so a stale one is never published), the manifest's variant entry and the
 * report section. Each file is replaced atomically (write beside, then rename), manifest last.
 */
import fs from 'node:fs';
import path from 'node:path';
import { EdgetuneError } from '../../shared/errors.ts';
import {
  type ModelManifest,
  ModelManifestSchema,
  type QuantizedVariant,
} from '../../shared/manifest/manifest.ts';
import type { PreprocessSpec } from '../../shared/manifest/preprocess.ts';
import type { RawImage } from '../../shared/preprocess/types.ts';
import { MANIFEST_FILE } from '../../shared/store/keys.ts';
import { engineArtifactFile } from '../../shared/engine/index.ts';
import { quantizationSection, withQuantizationSection } from './report.ts';
import { INT8_FILE, type QuantizeOutcome, quantizeInt8 } from './variant.ts';

/** Calibration images used at most (activation ranges settle long before this). */
export const DEFAULT_CALIBRATION_SAMPLES = 256;

const REPORT_FILE = 'report.html';

function writeAtomic(file: string, data: string | Uint8Array): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

/** The export's manifest, validated. */
export function readExportManifest(dir: string): ModelManifest {
  const file = path.join(dir, MANIFEST_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR')
      throw new EdgetuneError('not_found', `${file} not found: not an edgetune export`);
    throw new EdgetuneError('bad_request', `${file} is not valid JSON`, { cause: e });
  }
  const parsed = ModelManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new EdgetuneError('bad_request', `${file}: ${issue?.path.join('.')}: ${issue?.message}`);
  }
  return parsed.data;
}

/** The manifest with the int8 variant set (replacing an earlier int8 entry). */
export function withInt8Variant(manifest: ModelManifest, outcome: QuantizeOutcome): ModelManifest {
  const others = (manifest.variants ?? []).filter((v) => v.kind !== 'int8');
  return ModelManifestSchema.parse({ ...manifest, variants: [...others, outcome.variant] });
}

export function writeInt8ToExportDir(
  dir: string,
  manifest: ModelManifest,
  outcome: QuantizeOutcome,
): ModelManifest {
  const int8File = path.join(dir, INT8_FILE);
  if (outcome.bytes) writeAtomic(int8File, outcome.bytes);
  else fs.rmSync(int8File, { force: true });
  // The engine artifact goes with it; a stale one (from an earlier run) is never left behind.
  const engineFile = path.join(dir, engineArtifactFile(INT8_FILE));
  if (outcome.bytes && outcome.engine) writeAtomic(engineFile, outcome.engine);
  else fs.rmSync(engineFile, { force: true });
  const report = path.join(dir, REPORT_FILE);
  if (fs.existsSync(report)) {
    const section = quantizationSection(outcome.variant, outcome.attempts);
    writeAtomic(report, withQuantizationSection(fs.readFileSync(report, 'utf8'), section));
  }
  const updated = withInt8Variant(manifest, outcome);
  writeAtomic(path.join(dir, MANIFEST_FILE), `${JSON.stringify(updated, null, 2)}\n`);
  return updated;
}

export interface TrainingInt8Options {
  calibration: readonly RawImage[];
  heldOut: { images: readonly RawImage[]; labels: Int32Array };
  preprocess: PreprocessSpec;
  maxAccuracyDropPoints?: number;
  log: (line: string) => void;
}

/**
 * `train --quantize int8`: runs after the fp32 export is complete, so the directory is a valid
 * fp32 export at every moment; the manifest is replaced last with the variant listed.
 */
export async function addInt8ToExport(
  dir: string,
  fp32: Uint8Array,
  o: TrainingInt8Options,
): Promise<QuantizedVariant> {
  const outcome = await quantizeInt8(fp32, {
    calibration: o.calibration.slice(0, DEFAULT_CALIBRATION_SAMPLES),
    heldOut: o.heldOut,
    preprocess: o.preprocess,
    maxAccuracyDropPoints: o.maxAccuracyDropPoints,
    log: o.log,
  });
  writeInt8ToExportDir(dir, readExportManifest(dir), outcome);
  const v = outcome.variant;
  o.log(v.published ? `int8 variant stored as ${v.file}` : `int8 variant NOT published: ${v.reason}`);
  return v;
}
