import type { Command } from 'commander';
import { z } from 'zod';
import { EdgetuneError } from '../../../shared/errors.ts';
import { CALIBRATION_METHODS } from '../../quantize/calibrate.ts';
import { DEFAULT_MAX_ACCURACY_DROP_POINTS } from '../../quantize/gate.ts';
import { quantizeExportDir } from '../../quantize/quantize-export.ts';
import { log, printResult } from '../output.ts';

const Flags = z.object({
  calibration: z.string().min(1),
  testData: z.string().min(1).optional(),
  maxAccuracyDrop: z.coerce
    .number({ error: '--max-accuracy-drop must be a number' })
    .min(0, '--max-accuracy-drop must be ≥ 0')
    .max(100, '--max-accuracy-drop is in points (0–100)'),
  calibrationMethod: z.enum(['auto', ...CALIBRATION_METHODS], {
    error: `--calibration-method must be auto, ${CALIBRATION_METHODS.join(' or ')}`,
  }),
  activationBits: z
    .enum(['7', '8'], { error: '--activation-bits must be 7 or 8' })
    .transform((b) => Number(b) as 7 | 8),
  calibrationSamples: z.coerce
    .number()
    .int('--calibration-samples must be an integer')
    .min(1, '--calibration-samples must be ≥ 1'),
  seed: z.coerce.number().int('--seed must be an integer').min(0),
  json: z.boolean().optional(),
});

export function register(program: Command): void {
  program
    .command('quantize <export-dir>')
    .description(
      'add an int8 variant (model.int8.onnx, QDQ) to an export: per-channel int8 weights, activations calibrated on ' +
        '--calibration images; published only if its held-out accuracy is within --max-accuracy-drop points of fp32 ' +
        'and its top-1 agrees with fp32 on ≥ 99% of images (manifest.json and report.html say why otherwise)',
    )
    .requiredOption(
      '--calibration <dataset>',
      'calibration images, normally the training data (e.g. folder:<dir>)',
    )
    .option(
      '--test-data <dataset>',
      'held-out images for the gate (default: 20% of --calibration, not calibrated on)',
    )
    .option(
      '--max-accuracy-drop <points>',
      'largest accepted held-out accuracy drop vs fp32',
      String(DEFAULT_MAX_ACCURACY_DROP_POINTS),
    )
    .option(
      '--calibration-method <m>',
      `auto | ${CALIBRATION_METHODS.join(' | ')} (auto measures each and keeps the best)`,
      'auto',
    )
    .option(
      '--activation-bits <7|8>',
      '7 keeps activation codes in 0..127 (exact on every int8 dot-product lowering)',
      '7',
    )
    .option('--calibration-samples <n>', 'calibration images used at most', '256')
    .option('--seed <n>', 'seed for dataset selection and the held-out split', '1')
    .option('--json', 'print one JSON object on stdout')
    .action(async (dir: string, raw: Record<string, unknown>) => {
      const parsed = Flags.safeParse(raw);
      if (!parsed.success)
        throw new EdgetuneError('bad_request', parsed.error.issues[0]?.message ?? 'invalid flags');
      const f = parsed.data;
      const { outcome } = await quantizeExportDir({
        dir,
        calibration: f.calibration,
        testData: f.testData,
        maxAccuracyDropPoints: f.maxAccuracyDrop,
        method: f.calibrationMethod,
        activationBits: f.activationBits,
        calibrationSamples: f.calibrationSamples,
        seed: f.seed,
        log: f.json ? undefined : log,
      });
      const v = outcome.variant;
      printResult(f, { variant: v, attempts: outcome.attempts }, () =>
        v.published
          ? `int8 variant published: ${v.file} (${v.size} bytes), accuracy drop ${v.gate.accuracyDropPoints.toFixed(2)} points, ` +
            `top-1 agreement ${(v.gate.top1Agreement * 100).toFixed(2)}%, embedding cosine ${v.gate.embeddingCosine.toFixed(4)}`
          : `int8 variant NOT published: ${v.reason}`,
      );
      // The export stays valid (fp32 only); a failed gate is still a failure of this command.
      if (!v.published) process.exitCode = 1;
    });
}
