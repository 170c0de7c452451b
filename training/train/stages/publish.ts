/**
 * Stages 7 and 8 of `runTraining`: the int8 variant (`--quantize int8`, added to the written
 * export behind its own accuracy gate) and publishing the export to a store (`--store`).
 */
import type { ObjectStore } from '../../../shared/store/types.ts';
import { addInt8ToExport } from '../../quantize/export-dir.ts';
import { publishExportDir } from '../../registry/publish-dir.ts';
import type { TrainResult } from '../options.ts';
import type { StageContext } from './context.ts';
import type { GatedExport } from './export.ts';
import type { TrainInputs } from './inputs.ts';

export async function quantizeExport(
  ctx: StageContext,
  inputs: TrainInputs,
  exported: GatedExport,
  result: TrainResult,
): Promise<void> {
  const mark = performance.now();
  if (result.heldOutSet === 'cross-validation')
    ctx.progress.log(
      'int8 gate: no test set, and the head was fitted on every labelled image, so fp32 and int8 are compared on those images',
    );
  else if (result.heldOutSet === 'validation' && result.refit)
    ctx.progress.log(
      'int8 gate: no test set, and the model was refitted on every labelled image, so fp32 and int8 are compared on the validation images it also trained on',
    );
  result.int8 = await addInt8ToExport(result.outDir, exported.bytes, {
    calibration: inputs.train.samples.map((s) => s.image),
    heldOut: { images: inputs.heldOutSamples.map((s) => s.image), labels: inputs.yHeld },
    preprocess: exported.exportSpec,
    maxAccuracyDropPoints: ctx.options.maxAccuracyDropPoints,
    log: ctx.progress.log,
  });
  ctx.lap('quantize', mark);
}

export async function publishExport(
  ctx: StageContext,
  store: ObjectStore,
  result: TrainResult,
): Promise<void> {
  const mark = performance.now();
  const published = await publishExportDir(store, ctx.options.name, result.outDir, {
    onProgress: ctx.progress.log,
  });
  for (const w of published.warnings) ctx.progress.log(w);
  result.version = published.version;
  result.store = store.url;
  ctx.lap('publish', mark);
}
