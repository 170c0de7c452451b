/**
 * Step 2, the article's approaches 2 and 3 with `runTraining`:
 * - digits: the mnist backbone's features (frozen) + a new head on 10 labelled sheet digits per
 *   class, against a CNN trained from scratch on the same images (`baseline: 'scratch'`);
 * - photos: the pretrained MobileNetV2 (from nsfwjs) as a frozen feature extractor with a head on
 *   a few photo crops; its 1280-d embedding is what the edge's /embed endpoint serves.
 */
import path from 'node:path';
import { silentProgress } from '../train/progress.ts';
import type { TrainResult } from '../train/options.ts';
import { runTraining } from '../train/run.ts';
import type { DemoContext } from './context.ts';
import { writePhotoFolders } from './images.ts';
import { pct } from './narrator.ts';
import { MODEL_NAMES } from './profile.ts';

export async function trainDigits(
  ctx: DemoContext,
  backbone: string,
  which: { data: string; seed: number; baseline: boolean; out: string; trainable?: number },
): Promise<TrainResult> {
  return runTraining({
    backbone,
    data: which.data,
    testData: ctx.profile.digits.test,
    name: MODEL_NAMES.digits,
    seed: which.seed,
    trainable: which.trainable ?? 0,
    baseline: which.baseline ? 'scratch' : undefined,
    out: path.join(ctx.workDir, which.out),
    cacheDir: path.join(ctx.cacheRoot, 'features'),
    progress: silentProgress,
  });
}

export async function transferStep(
  ctx: DemoContext,
  backbone: string,
): Promise<{ digits: TrainResult; photos: TrainResult }> {
  const { n, profile } = ctx;
  n.say(
    `digits: OpenCV's handwritten-digits sheet (another collection, 20×20 px), "${profile.digits.train}"`,
  );
  const digits = await trainDigits(ctx, backbone, {
    data: profile.digits.train,
    seed: 1,
    baseline: true,
    out: 'digits',
  });
  const b = digits.baseline!;
  n.say(
    `  ${digits.counts.train} train + ${digits.counts.val} validation images, tested on ${digits.counts.test} other sheet digits`,
  );
  n.say(
    `  transfer (frozen mnist features + new head): ${pct(digits.transfer.heldOut.accuracy)} ` +
      `in ${digits.transfer.seconds.toFixed(1)} s`,
  );
  n.say(
    `  from scratch (same images, shift augmentation): ${pct(b.heldOut.accuracy)} in ${b.seconds.toFixed(1)} s`,
  );
  n.say(`  ${digits.verdict}`);
  if (profile.kind === 'quick')
    n.say('  (quick mode: transfer numbers come from the smaller quick backbone)');
  n.say(`  parity gate ONNX vs tfjs: max |Δp| ${digits.parity.maxAbsDiff.toExponential(1)}`);

  n.say('photos: pretrained MobileNetV2 (ImageNet, via nsfwjs) as a frozen feature extractor');
  const folders = writePhotoFolders(path.join(ctx.workDir, 'photo-crops'), {
    train: profile.photos.trainPerClass,
    test: profile.photos.testPerClass,
  });
  const photos = await runTraining({
    backbone: 'nsfwjs:MobileNetV2',
    data: `folder:${folders.train}`,
    testData: `folder:${folders.test}`,
    valSplit: 0.25,
    name: MODEL_NAMES.photos,
    seed: 1,
    out: path.join(ctx.workDir, 'photos'),
    cacheDir: path.join(ctx.cacheRoot, 'features'),
    progress: silentProgress,
  });
  n.say(
    `  classes ${photos.labels.join(', ')}: ${photos.counts.train} train + ${photos.counts.val} validation crops, tested on ` +
      `${photos.counts.test} other crops (resized to 224×224 by the shared preprocessing)`,
  );
  n.say(
    `  embedding ${photos.plan.featureTensor}: ${photos.plan.embeddingDim}-d; held-out accuracy ${pct(photos.accuracy)}; ` +
      `features ${photos.timings.features} s, total ${photos.timings.total} s`,
  );
  return { digits, photos };
}
