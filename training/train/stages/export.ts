/**
 * Stage 5 of `runTraining`: choose the model to ship, assemble it as ONE ONNX, and gate it: the
 * exported model must give the trained model's probabilities on raw validation (and test) images,
 * on onnxruntime and on the engines it will be listed for. Nothing is written before this passes.
 */
import { EdgetuneError } from '../../../shared/errors.ts';
import type { PreprocessSpec } from '../../../shared/manifest/preprocess.ts';
import { encodeModel, type onnx } from '../../../shared/onnx/proto.ts';
import type { RawImage } from '../../../shared/preprocess/types.ts';
import { assembleStandaloneModel, assembleTransferModel } from '../../export/assemble.ts';
import { type EdgeVariants, prepareEdgeVariants } from '../../export/edge-variants.ts';
import { checkParity, type ParityReport } from '../../export/parity.ts';
import { predictProbs } from '../../fit/loop.ts';
import type { ModelOutcome } from '../options.ts';
import type { BaselineFit } from './baseline.ts';
import type { StageContext } from './context.ts';
import type { FeatureSet } from './features.ts';
import type { TransferFit } from './fit.ts';
import type { TrainInputs } from './inputs.ts';

/** Validation images the parity gate decodes again when the data is streamed. */
const STREAMED_GATE_IMAGES = 64;

export type Selected = 'transfer' | 'baseline';

export interface GatedExport {
  selected: Selected;
  /** The shipped model's outcome. */
  chosen: ModelOutcome;
  metrics: Record<string, number>;
  model: onnx.ModelProto;
  bytes: Uint8Array;
  exportSpec: PreprocessSpec;
  embeddingDim: number;
  parity: ParityReport;
  variants: EdgeVariants;
}

function selectModel(
  select: 'transfer' | 'best',
  transfer: ModelOutcome,
  baseline: ModelOutcome | undefined,
): Selected {
  if (select !== 'best' || !baseline) return 'transfer';
  const t = transfer.val;
  const b = baseline.val;
  // Better validation accuracy wins; a tie goes to the lower validation loss.
  if (b.accuracy > t.accuracy || (b.accuracy === t.accuracy && b.loss < t.loss)) return 'baseline';
  return 'transfer';
}

function concat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

export async function exportWithGates(
  ctx: StageContext,
  inputs: TrainInputs,
  features: FeatureSet,
  transfer: TransferFit,
  baseline: BaselineFit | undefined,
): Promise<GatedExport> {
  const { options, progress, seed } = ctx;
  const { backbone, plan, auto, data, val, test, streamed, labels, classes, heldOutSamples } = inputs;
  const nTr = inputs.train.samples.length;
  const nVal = val.samples.length;
  const mark = performance.now();
  const selected: Selected = auto
    ? auto.scratch
      ? 'baseline'
      : 'transfer'
    : selectModel(options.select === 'best' ? 'best' : 'transfer', transfer.outcome, baseline?.outcome);
  const chosen = selected === 'baseline' ? baseline!.outcome : transfer.outcome;
  const metrics: Record<string, number> = {
    accuracy: chosen.heldOut.accuracy,
    valAccuracy: chosen.val.accuracy,
    macroF1: chosen.heldOut.macroF1,
    transferAccuracy: transfer.outcome.heldOut.accuracy,
    ...(baseline ? { baselineAccuracy: baseline.outcome.heldOut.accuracy } : {}),
    trainSamples: nTr,
    valSamples: nVal,
    testSamples: heldOutSamples.length,
  };
  // Parity gate inputs: the validation images, plus up to 64 test images when there is a test set.
  // Streamed data is decoded again for the gate, so it takes the first STREAMED_GATE_IMAGES.
  const extraTest = test ? Math.min(64, test.samples.length) : 0;
  const gateVal = streamed ? Math.min(STREAMED_GATE_IMAGES, nVal) : nVal;
  const gateImages: RawImage[] = [
    ...val.samples.slice(0, gateVal).map((s) => s.image),
    ...(test ? test.samples.slice(0, extraTest).map((s) => s.image) : []),
  ];
  let model: onnx.ModelProto;
  let expected: Float32Array;
  let exportSpec: PreprocessSpec;
  let embeddingDim: number;
  const metadata: Record<string, string> = {
    'edgetune.labels': JSON.stringify(labels),
    'edgetune.metrics': JSON.stringify(metrics),
    'edgetune.trained': JSON.stringify({ name: options.name, data: data.spec, seed, selected }),
  };
  if (selected === 'transfer') {
    const { parts } = transfer;
    embeddingDim = parts.featureModel
      ? (parts.featureModel.outputs[0]!.shape[1] as number)
      : features.itemSize;
    exportSpec = backbone.preprocess;
    metadata['edgetune.preprocess'] = JSON.stringify(exportSpec);
    metadata['edgetune.backbone'] = JSON.stringify({
      source: backbone.source,
      sha256: backbone.sha256,
      boundary: plan.boundary,
      featureTensor: plan.featureTensor,
    });
    model = assembleTransferModel({
      backbone: backbone.model,
      boundary: plan.boundary,
      trainable: parts.model,
      featureLayer: parts.featureLayer,
      classes,
      embeddingDim,
      metadata,
    });
    const valProbs = predictProbs(transfer.forward, features.valX, classes).subarray(0, gateVal * classes);
    const testProbs =
      extraTest > 0 ? transfer.heldProbs!.subarray(0, extraTest * classes) : new Float32Array();
    expected = concat(valProbs, testProbs);
  } else {
    const { scratch } = baseline!;
    embeddingDim = scratch.model.getLayer('features').outputShape[1] as number;
    exportSpec = scratch.preprocess;
    metadata['edgetune.preprocess'] = JSON.stringify(exportSpec);
    metadata['edgetune.backbone'] = JSON.stringify({ source: `scratch:${scratch.arch}` });
    model = assembleStandaloneModel(scratch.model, 'features', classes, embeddingDim, metadata);
    expected = scratch.predict(gateImages);
  }
  if (options.tamperExport) model = options.tamperExport(model);
  const bytes = encodeModel(model);
  const parity = await checkParity(bytes, gateImages, exportSpec, expected, classes, embeddingDim);
  ctx.lap('export', mark);
  if (!parity.passed) {
    throw new EdgetuneError(
      'parity_failed',
      `parity gate failed: the exported ONNX differs from the tfjs model by max |Δp| = ` +
        `${parity.maxAbsDiff.toExponential(2)} (> ${parity.tolerance}) on ${parity.samples} validation images; ` +
        'nothing was written or published',
    );
  }
  progress.log(
    `parity gate: max |Δp| ${parity.maxAbsDiff.toExponential(2)} on ${parity.samples} images (≤ ${parity.tolerance})`,
  );
  const variants = await prepareEdgeVariants(bytes, gateImages, exportSpec, expected, classes);
  for (const note of variants.notes) progress.log(note);
  if ('maxAbsDiff' in variants.engine) {
    progress.log(
      `engine parity: max |Δp| ${variants.engine.maxAbsDiff.toExponential(2)} (engines: ${variants.engines.join(', ')})`,
    );
  }
  return { selected, chosen, metrics, model, bytes, exportSpec, embeddingDim, parity, variants };
}
