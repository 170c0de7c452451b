import type { Command } from 'commander';
import { z } from 'zod';
import { DEVICES } from '../../features/session.ts';
import { backendRequests } from '../../tf/backend.ts';
import type { TrainResult } from '../../train/options.ts';
import { streamProgress } from '../../train/progress.ts';
import { runTraining } from '../../train/run.ts';
import { describeThroughput } from '../../train/throughput.ts';
import { parseDuration } from '../../../shared/jobs/policy.ts';
import { selectionJson, selectionLines } from '../../select/summary.ts';
import { AUTO_SELECT_BELOW } from '../../select/auto.ts';
import { printResult } from '../output.ts';
import { addInputFlags, hasInputOptions, inputOptionsFromFlags } from '../../backbones/input-options.ts';
import { trainPrototype } from './train-prototype.ts';
import { parseFlags } from '../parse-flags.ts';

const int = (flag: string, min = 0) =>
  z.coerce
    .number({ error: `${flag} must be a number` })
    .int(`${flag} must be an integer`)
    .min(min, `${flag} must be ≥ ${min}`);

const Flags = z.object({
  backbone: z.string().min(1),
  sha256: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, '--sha256 takes 64 hex digits')
    .optional(),
  data: z.string().min(1),
  name: z.string().min(1),
  testData: z.string().min(1).optional(),
  featureLayer: z.string().min(1).optional(),
  trainable: z
    .string()
    .min(1)
    .transform((s) => (/^\d+$/.test(s) ? Number(s) : s))
    .optional(),
  head: z.string().optional(),
  epochs: int('--epochs', 1).optional(),
  fineTuneEpochs: int('--fine-tune-epochs').optional(),
  lr: z.coerce.number().positive('--lr must be > 0').optional(),
  valSplit: z.coerce
    .number()
    .gt(0, '--val-split must be in (0, 1)')
    .lt(1, '--val-split must be in (0, 1)')
    .optional(),
  seed: int('--seed').optional(),
  batchSize: int('--batch-size', 1).optional(),
  baseline: z
    .enum(['scratch', 'linear'], { error: '--baseline must be scratch, or linear with --head prototype' })
    .optional(),
  select: z
    .enum(['transfer', 'best', 'auto'], { error: '--select must be transfer, best or auto' })
    .optional(),
  searchBudget: z
    .string()
    .transform((t) => parseDuration(t))
    .optional(),
  out: z.string().min(1).optional(),
  store: z.string().min(1).optional(),
  device: z.enum(DEVICES, { error: `--device must be one of ${DEVICES.join(', ')}` }).optional(),
  backend: z
    .enum(backendRequests as [string, ...string[]], {
      error: `--backend must be one of ${backendRequests.join(', ')}`,
    })
    .optional(),
  quantize: z.enum(['int8'], { error: '--quantize: only "int8" is supported' }).optional(),
  maxAccuracyDrop: z.coerce
    .number({ error: '--max-accuracy-drop must be a number' })
    .min(0, '--max-accuracy-drop must be ≥ 0')
    .max(100, '--max-accuracy-drop is in points (0–100)')
    .optional(),
  json: z.boolean().optional(),
});

function pct(x: number): string {
  return `${(x * 100).toFixed(2)}%`;
}

/** The `--json` object: the headline numbers plus paths; metrics.json has everything. */
export function trainJson(r: TrainResult): Record<string, unknown> {
  return {
    name: r.name,
    selected: r.selected,
    accuracy: r.accuracy,
    heldOutSet: r.heldOutSet,
    ...(r.refit ? { refit: r.refit } : {}),
    transfer: {
      accuracy: r.transfer.heldOut.accuracy,
      valAccuracy: r.transfer.val.accuracy,
      macroF1: r.transfer.heldOut.macroF1,
    },
    ...(r.baseline
      ? {
          baseline: {
            accuracy: r.baseline.heldOut.accuracy,
            valAccuracy: r.baseline.val.accuracy,
            macroF1: r.baseline.heldOut.macroF1,
          },
        }
      : {}),
    ...(r.baselineWins !== undefined ? { baselineWins: r.baselineWins, verdict: r.verdict } : {}),
    parity: { maxAbsDiff: r.parity.maxAbsDiff, samples: r.parity.samples },
    features: r.features,
    plan: r.plan,
    counts: r.counts,
    outDir: r.outDir,
    files: r.files,
    ...(r.version ? { version: r.version, store: r.store } : {}),
    ...(r.int8 ? { int8: r.int8 } : {}),
    timings: r.timings,
    ...(r.throughput ? { throughput: r.throughput } : {}),
    warnings: r.warnings,
    ...(r.selection ? { selection: selectionJson(r.selection) } : {}),
  };
}

export function register(program: Command): void {
  addInputFlags(program.command('train'))
    .description(
      'transfer learning: freeze a backbone prefix (onnxruntime-node, activations cached), train the later layers and a new head ' +
        '(tfjs), evaluate, export ONE ONNX (outputs probabilities + embedding) with manifest.json, metrics.json and report.html; ' +
        'a parity gate (ONNX vs tfjs, max |Δp| ≤ 1e-4) guards every export and publish',
    )
    .requiredOption(
      '--backbone <source>',
      'nsfwjs:MobileNetV2 | tfjs:<model.json> | <file.onnx> (e.g. from `edgetune pretrain`) | ' +
        'hf:<org>/<repo>[@rev][/file.onnx] | https://…/model.onnx (downloaded once, cached; HF_ENDPOINT, HF_TOKEN)',
    )
    .option('--sha256 <hex>', 'the sha256 the backbone file must have (a hub download is refused otherwise)')
    .requiredOption(
      '--data <dataset>',
      'training data, e.g. folder:<dir>, opencv-digits:per-class=10, mnist:classes=5-9',
    )
    .requiredOption('--name <model>', 'model name ([a-z0-9][a-z0-9_-]*)')
    .option('--test-data <dataset>', 'held-out test set (default: the validation split)')
    .option(
      '--feature-layer <tensor>',
      "embedding tensor (default: the backbone's suggested feature tensor; spatial tensors are average-pooled)",
    )
    .option(
      '--trainable <N|tensor>',
      'conv layers to re-train at the end of the backbone (default 0 = frozen), or a boundary tensor',
    )
    .option(
      '--head <spec>',
      'head: dropout=<rate>[,hidden=<units>] (default dropout=0.2); "logistic" (the linear head as L2 logistic regression fitted to its optimum on the frozen features: no seed, no early stopping); or "prototype" (class means of the embeddings, no tfjs, seconds)',
    )
    .option('--epochs <n>', 'max epochs of the head phase (early stopping on validation loss)', '100')
    .option(
      '--fine-tune-epochs <n>',
      'epochs at lr/10 training all trainable layers (default 10 with --trainable > 0)',
    )
    .option('--lr <x>', 'learning rate (default 1e-2 frozen, 3e-3 with --trainable)')
    .option('--val-split <f>', 'fraction of --data held out for validation', '0.2')
    .option('--seed <n>', 'seed for splits, shuffles and initialisation', '1')
    .option('--batch-size <n>', 'batch size', '32')
    .option(
      '--baseline <kind>',
      '"scratch": also train a CNN from scratch on the same data and compare; "linear" (with --head prototype): also train the dense head',
    )
    .option(
      '--select <which>',
      `auto (default when a class has fewer than ${AUTO_SELECT_BELOW} labelled images and no --feature-layer, --trainable, --head or --baseline pins the configuration) or transfer (default otherwise); ` +
        "transfer: the backbone's feature layer and a linear head (seconds); best: the quick two-way choice between transfer and --baseline scratch on validation data; " +
        'auto: cross-validate feature layers, heads (prototype, logistic, MLP), fine-tuning depths 1-2 and the scratch CNN, ' +
        "pick the configuration most probably best in CV by its held-out images' cross-entropy and train it on every labelled image",
    )
    .option(
      '--search-budget <duration>',
      'time --select auto may spend searching, e.g. 60s, 5m (default 10m)',
    )
    .option('--out <dir>', 'export directory (default .edgetune/runs/<name>-<timestamp>)')
    .option('--store <url>', 'publish after the parity gate: file://<dir> or s3://<bucket>/<prefix>')
    .option('--device <device>', 'frozen prefix on auto | cpu | cuda', 'auto')
    .option('--backend <name>', `tfjs backend: ${backendRequests.join(' | ')}`, 'auto')
    .option(
      '--quantize <int8>',
      'also export model.int8.onnx (QDQ), kept only if it passes its accuracy gate',
    )
    .option('--max-accuracy-drop <points>', 'int8 gate: largest held-out accuracy drop vs fp32 (default 0.5)')
    .option('--json', 'print one JSON object on stdout')
    .action(async (raw: Record<string, unknown>) => {
      const input = inputOptionsFromFlags(raw);
      const f = parseFlags(Flags, raw);
      if (f.head === 'prototype' || f.baseline === 'linear') {
        await trainPrototype(f, hasInputOptions(input) ? input : undefined);
        return;
      }
      const result = await runTraining({
        backbone: f.backbone,
        backboneSha256: f.sha256,
        input: hasInputOptions(input) ? input : undefined,
        data: f.data,
        name: f.name,
        testData: f.testData,
        featureLayer: f.featureLayer,
        trainable: f.trainable,
        head: f.head,
        epochs: f.epochs,
        fineTuneEpochs: f.fineTuneEpochs,
        lr: f.lr,
        valSplit: f.valSplit,
        seed: f.seed,
        batchSize: f.batchSize,
        baseline: f.baseline,
        select: f.select,
        // A flag that names part of the configuration asks for it, not for a search.
        autoSelectBelow:
          f.featureLayer === undefined &&
          f.trainable === undefined &&
          f.head === undefined &&
          f.baseline === undefined
            ? AUTO_SELECT_BELOW
            : undefined,
        searchBudget: f.searchBudget,
        out: f.out,
        store: f.store,
        quantize: f.quantize,
        maxAccuracyDropPoints: f.maxAccuracyDrop,
        device: f.device,
        backend: f.backend as (typeof backendRequests)[number] | undefined,
        progress: streamProgress(),
      });
      printResult(f, trainJson(result), () =>
        [
          `${result.name}: held-out accuracy ${pct(result.accuracy)} (${result.selected}, ${result.heldOutSet === 'cross-validation' ? 'cross-validated on' : `${result.heldOutSet} set of`} ${result.counts.heldOut}${result.refit && result.heldOutSet === 'validation' ? `, scored before the refit on all ${result.refit.images} labelled images` : ''})`,
          ...(result.baseline
            ? [
                `transfer ${pct(result.transfer.heldOut.accuracy)} vs scratch baseline ${pct(result.baseline.heldOut.accuracy)}`,
                result.baselineWins ? `NOTE: ${result.verdict}` : result.verdict!,
              ]
            : []),
          ...(result.selection ? selectionLines(result.selection) : []),
          `parity: max |Δp| ${result.parity.maxAbsDiff.toExponential(2)} on ${result.parity.samples} images`,
          `features: ${result.features.computed} computed, ${result.features.cacheHits} from cache`,
          ...(result.throughput ? [describeThroughput(result.throughput)] : []),
          `wrote ${result.outDir} (model.onnx, manifest.json, metrics.json, report.html)`,
          ...(result.int8
            ? [
                result.int8.published
                  ? `int8: ${result.int8.file}, accuracy drop ${result.int8.gate.accuracyDropPoints.toFixed(2)} points, top-1 agreement ${pct(result.int8.gate.top1Agreement)}`
                  : `int8 variant NOT published: ${result.int8.reason}`,
              ]
            : []),
          ...(result.version ? [`published ${result.name} ${result.version} to ${result.store}`] : []),
        ].join('\n'),
      );
    });
}
