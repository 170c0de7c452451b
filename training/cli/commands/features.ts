import type { Command } from 'commander';
import { z } from 'zod';
import { addInputFlags, hasInputOptions, inputOptionsFromFlags } from '../../backbones/input-options.ts';
import { defaultFeatureCacheDir } from '../../features/cache.ts';
import { DEVICES } from '../../features/session.ts';
import { parseShard, runFeatureShard } from '../../features/shard.ts';
import { streamProgress } from '../../train/progress.ts';
import { openStore } from '../../../shared/store/node/open.ts';
import { printResult } from '../output.ts';
import { withStoreOptions } from './store-options.ts';
import { parseFlags } from '../parse-flags.ts';

const Flags = z.object({
  backbone: z.string().min(1),
  data: z.string().min(1),
  shard: z.string().min(1),
  store: z.string().min(1),
  featureLayer: z.string().min(1).optional(),
  trainable: z
    .string()
    .min(1)
    .transform((s) => (/^\d+$/.test(s) ? Number(s) : s))
    .optional(),
  seed: z.coerce
    .number({ error: '--seed must be a number' })
    .int('--seed must be an integer')
    .min(0)
    .optional(),
  batchSize: z.coerce
    .number()
    .int('--batch-size must be an integer')
    .min(1, '--batch-size must be ≥ 1')
    .optional(),
  device: z.enum(DEVICES, { error: `--device must be one of ${DEVICES.join(', ')}` }).optional(),
  json: z.boolean().optional(),
});

export function register(program: Command): void {
  withStoreOptions(
    addInputFlags(program.command('features'))
      .description(
        "compute one shard of a dataset's frozen-prefix activations and upload them to the store's feature cache " +
          '(features/<key>/, content-addressed: re-runs skip what is there); `edgetune train --store` with the same ' +
          'backbone, --feature-layer and --trainable then runs no prefix for them',
      )
      .requiredOption(
        '--backbone <source>',
        'as for train: nsfwjs:MobileNetV2 | tfjs:<model.json> | <file.onnx>',
      )
      .requiredOption('--data <dataset>', 'as for train, e.g. folder:<dir> or csv:<file>')
      .option('--shard <i/N>', 'this shard of N (0-based), e.g. $JOB_COMPLETION_INDEX/8', '0/1')
      .option('--feature-layer <tensor>', 'as for train')
      .option('--trainable <N|tensor>', 'as for train (the boundary moves with it)', '0')
      .option('--seed <n>', 'as for train (selection with per-class=)', '1')
      .option('--batch-size <n>', 'images per prefix run (default 8 for image files, 32 for in-memory sets)')
      .option('--device <device>', 'frozen prefix on auto | cpu | cuda', 'auto'),
  ).action(async (raw: Record<string, unknown>) => {
    const input = inputOptionsFromFlags(raw);
    const f = parseFlags(Flags, raw);
    const progress = streamProgress();
    const r = await runFeatureShard({
      backbone: f.backbone,
      data: f.data,
      shard: parseShard(f.shard),
      store: openStore(f.store),
      input: hasInputOptions(input) ? input : undefined,
      featureLayer: f.featureLayer,
      trainable: f.trainable,
      seed: f.seed,
      cacheDir: defaultFeatureCacheDir(),
      device: f.device,
      batchSize: f.batchSize,
      progress,
    });
    printResult(f, r, () =>
      [
        `shard ${r.shard}: ${r.shardImages} of ${r.images} images; ${r.alreadyStored} were already stored, ` +
          `${r.computed} computed (${r.decoded} decoded), ${r.localCacheHits} from the local cache, ${r.uploaded} uploaded`,
        `${r.imagesPerSecond} images/s: list ${r.seconds.list} s, features ${r.seconds.features} s, upload ${r.seconds.upload} s; peak RSS ${r.peakRssMb} MB`,
        `activations in ${r.prefix}`,
      ].join('\n'),
    );
  });
}
