/**
 * `runTraining`: the whole transfer pipeline as a library function (the CLI, the retraining
 * runner and the demo call it). One direction, no back-and-forth; each stage is a function in
 * stages/ with typed input and output:
 *   inputs (options, backbone, data, [--select auto]) → features (frozen prefix in
 *   onnxruntime-node, cached per image) → fit (trainable part + head in tfjs) → [scratch baseline]
 *   → export (assemble ONE ONNX, parity gates) → write → [quantize] → [publish].
 */
import { openStore } from '../../shared/store/node/open.ts';
import type { TrainOptions, TrainResult } from './options.ts';
import { upscaleWarning } from './input-warnings.ts';
import { describeThroughput, finalThroughput, throughput } from './throughput.ts';
import { describeVerdict, fitScratchBaseline } from './stages/baseline.ts';
import { createStageContext } from './stages/context.ts';
import { exportWithGates } from './stages/export.ts';
import { extractStageFeatures } from './stages/features.ts';
import { fitTransfer } from './stages/fit.ts';
import { prepareInputs } from './stages/inputs.ts';
import { publishExport, quantizeExport } from './stages/publish.ts';
import { writeExport } from './stages/write.ts';

export { describeVerdict };

export async function runTraining(options: TrainOptions): Promise<TrainResult> {
  const t0 = performance.now();
  const ctx = createStageContext(options);
  const { progress, timings } = ctx;

  const inputs = await prepareInputs(ctx);
  const { backbone, plan, auto } = inputs;
  // Streamed images' sizes are only known once decoded: warned about after extraction.
  const upscaled = inputs.streamed ? undefined : upscaleWarning(inputs.train.samples, backbone.preprocess);
  if (upscaled) ctx.warn(upscaled);
  progress.log(
    `backbone ${backbone.source}: frozen up to ${plan.boundary} [${plan.boundaryDims.join('×')}], ` +
      `${plan.trainableConvs} conv layers re-trained, embedding ${plan.featureTensor}; tfjs backend ${inputs.backendName}`,
  );

  const store = options.store ? openStore(options.store, { cwd: ctx.cwd }) : undefined;
  const disposables: { dispose(): void }[] = [];
  const own = (d: { dispose(): void }) => disposables.push(d);
  try {
    const features = await extractStageFeatures(ctx, inputs, store ?? options.featureStore);
    const transfer = await fitTransfer(ctx, inputs, features, own);
    const rate = throughput({
      images: features.images,
      streamed: inputs.streamed,
      listSeconds: timings.data ?? 0,
      featureSeconds: timings.features ?? 0,
      fitSeconds: timings.fit ?? 0,
      features: features.stats,
      activationsFromDisk: features.fromDisk,
    });
    progress.log(describeThroughput(rate));
    progress.log(`transfer: held-out accuracy ${(transfer.outcome.heldOut.accuracy * 100).toFixed(2)}%`);

    const baseline =
      options.baseline === 'scratch' || auto?.scratch
        ? await fitScratchBaseline(ctx, inputs, transfer, own)
        : undefined;
    const exports = auto
      ? auto.scratch
        ? 'baseline'
        : 'transfer'
      : options.select === 'best'
        ? 'better'
        : 'transfer';
    const verdict = baseline ? describeVerdict(transfer.outcome, baseline.outcome, exports) : undefined;
    if (verdict) progress.log(verdict);

    const exported = await exportWithGates(ctx, inputs, features, transfer, baseline);
    const result = await writeExport(ctx, { inputs, features, transfer, baseline, verdict, exported, rate });
    if (options.quantize === 'int8') await quantizeExport(ctx, inputs, exported, result);
    if (store) await publishExport(ctx, store, result);
    timings.total = Number(((performance.now() - t0) / 1000).toFixed(3));
    result.throughput = finalThroughput(rate);
    return result;
  } finally {
    for (const d of disposables) d.dispose();
  }
}
