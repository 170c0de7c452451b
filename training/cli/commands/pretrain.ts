import type { Command } from 'commander';
import { z } from 'zod';
import { EdgetuneError } from '../../../shared/errors.ts';
import { archNames, describeArch } from '../../backbones/archs.ts';
import { backendRequests } from '../../tf/backend.ts';
import { runPretrain } from '../../train/pretrain.ts';
import { streamProgress } from '../../train/progress.ts';
import { printResult } from '../output.ts';

const Flags = z.object({
  data: z.string().min(1),
  arch: z.string().min(1),
  out: z.string().min(1),
  epochs: z.coerce.number().int().min(1, '--epochs must be ≥ 1'),
  seed: z.coerce.number().int().min(0),
  valSplit: z.coerce.number().gt(0).lt(1),
  size: z.coerce.number().int().min(8).max(512).optional(),
  batchSize: z.coerce.number().int().min(1, '--batch-size must be ≥ 1'),
  lr: z.coerce.number().positive('--lr must be > 0'),
  backend: z.enum(backendRequests as [string, ...string[]]),
  json: z.boolean().optional(),
});

export function register(program: Command): void {
  program
    .command('pretrain')
    .description(
      'train a CNN from scratch on an abundant task and export it as a backbone ONNX (plus <out>.tfjs/ for later ' +
        'fine-tuning), checked against tfjs (≤ 1e-4). Architectures:\n' +
        archNames()
          .map((a) => `  ${a}: ${describeArch(a)}`)
          .join('\n'),
    )
    .requiredOption('--data <dataset>', 'e.g. mnist, mnist:classes=0-4, idx:<images>,<labels>, folder:<dir>')
    .requiredOption('--out <backbone.onnx>', 'where to write the backbone')
    .option('--arch <name>', `architecture: ${archNames().join(', ')}`, 'small-cnn')
    .option('--epochs <n>', 'epochs', '3')
    .option('--seed <n>', 'seed', '1')
    .option('--val-split <f>', 'fraction held out (early stopping and the reported accuracy)', '0.2')
    .option('--batch-size <n>', 'batch size', '64')
    .option('--lr <x>', 'peak Adam learning rate (cosine decay)', '0.003')
    .option('--size <px>', "input side (default: the images' size)")
    .option('--backend <name>', `tfjs backend: ${backendRequests.join(' | ')}`, 'auto')
    .option('--json', 'print one JSON object on stdout')
    .action(async (raw: Record<string, unknown>) => {
      const parsed = Flags.safeParse(raw);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new EdgetuneError('bad_request', `--${issue?.path.join('.')}: ${issue?.message ?? 'invalid'}`);
      }
      const f = parsed.data;
      const r = await runPretrain({
        data: f.data,
        arch: f.arch,
        out: f.out,
        epochs: f.epochs,
        seed: f.seed,
        valSplit: f.valSplit,
        size: f.size,
        batchSize: f.batchSize,
        lr: f.lr,
        backend: f.backend as (typeof backendRequests)[number],
        progress: streamProgress(),
      });
      printResult(
        f,
        {
          out: r.out,
          tfjsModel: r.tfjsModel,
          arch: r.arch,
          dataset: r.dataset,
          labels: r.labels,
          accuracy: r.accuracy,
          trainCount: r.trainCount,
          valCount: r.valCount,
          parity: r.parity,
          featureTensor: r.featureTensor,
          preprocess: r.preprocess,
          params: r.params,
          backend: r.backend,
          epochs: r.epochs,
          seconds: r.seconds,
        },
        () =>
          [
            `wrote ${r.out} (${r.arch}, ${r.params} parameters) and ${r.tfjsModel}`,
            `held-out accuracy ${(r.accuracy * 100).toFixed(2)}% on ${r.valCount} images (${r.trainCount} trained on, ${r.epochs.length} epochs, ${r.seconds.toFixed(0)} s, backend ${r.backend})`,
            `parity ONNX vs tfjs: max |Δ| ${r.parity.maxAbsDiff.toExponential(2)} on ${r.parity.samples} images`,
            `feature tensor: ${r.featureTensor}; input ${r.preprocess.width}×${r.preprocess.height}×${r.preprocess.channels}, values 0..1`,
          ].join('\n'),
      );
    });
}
