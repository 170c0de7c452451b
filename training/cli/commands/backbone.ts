import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { EdgetuneError } from '../../../shared/errors.ts';
import { supportedLayerClasses } from '../../backbones/convert/index.ts';
import { readBackboneMetadata } from '../../backbones/convert/metadata.ts';
import { importBackbone, parseBackboneSource } from '../../backbones/import.ts';
import { addInputFlags, hasInputOptions, inputOptionsFromFlags } from '../../backbones/input-options.ts';
import { hubInputOptions } from '../../backbones/hub/hub-backbone.ts';
import { prepareOnnxBackbone, withPreparedMetadata } from '../../backbones/onnx-file.ts';
import { decodeModel, encodeModel } from '../../../shared/onnx/proto.ts';
import { assertValid } from '../../../shared/onnx/validate.ts';
import { log, printResult } from '../output.ts';

const ImportFlags = z.object({
  out: z.string().min(1),
  sha256: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, '--sha256 takes 64 hex digits')
    .optional(),
  json: z.boolean().optional(),
  inputRange: z
    .string()
    .regex(
      /^\s*-?[\d.]+(e-?\d+)?\s*,\s*-?[\d.]+(e-?\d+)?\s*$/i,
      'use --input-range <lo>,<hi>, e.g. 0,1 or -1,1',
    )
    .transform((s) => s.split(',').map(Number) as [number, number])
    .refine(([lo, hi]) => Number.isFinite(lo) && Number.isFinite(hi) && lo < hi, 'lo must be below hi')
    .optional(),
  labels: z
    .string()
    .transform((s) => s.split(',').map((l) => l.trim()))
    .refine((l) => l.every((x) => x.length > 0), 'labels must not be empty')
    .optional(),
});

export function register(program: Command): void {
  const backbone = program
    .command('backbone')
    .description('pretrained backbones: import and convert to ONNX');

  addInputFlags(backbone.command('import <source>'))
    .description(
      'convert a backbone to ONNX (NCHW float input named "input"): nsfwjs:MobileNetV2, nsfwjs:InceptionV3, ' +
        'tfjs:<path/to/model.json> (a tfjs layers / Keras model), <path/to/model.onnx>, ' +
        'hf:<org>/<repo>[@rev][/file.onnx] or https://…/model.onnx (downloaded once, cached)',
    )
    .option('--sha256 <hex>', 'the sha256 a downloaded file must have')
    .requiredOption('--out <file.onnx>', 'where to write the ONNX model')
    .option('--input-range <lo,hi>', 'value range a tfjs: model expects (stored in metadata), e.g. 0,1')
    .option('--labels <a,b,...>', 'class labels of a tfjs: model output (stored in metadata)')
    .option('--json', 'print one JSON object')
    .action(async (source: string, raw: unknown) => {
      const parsed = ImportFlags.safeParse(raw);
      if (!parsed.success)
        throw new EdgetuneError('bad_request', parsed.error.issues[0]?.message ?? 'bad flags');
      const flags = parsed.data;
      const input = inputOptionsFromFlags(raw);
      const kind = parseBackboneSource(source).kind;
      const isOnnx = kind === 'onnx' || kind === 'hub';
      if (hasInputOptions(input) && !isOnnx) {
        throw new EdgetuneError(
          'bad_request',
          'preprocessing flags apply to .onnx sources; use --input-range for tfjs: models',
        );
      }
      const started = Date.now();
      let imported = await importBackbone(source, {
        inputRange: flags.inputRange,
        labels: flags.labels,
        sha256: flags.sha256,
        log: flags.json ? undefined : log,
      });
      if (isOnnx) {
        // A plain export is prepared (input, opset, layout, batch, features) and what it expects
        // is recorded in its metadata, so `train --backbone <out>` needs no flags.
        const prepared = prepareOnnxBackbone(
          imported.model,
          imported.hub ? hubInputOptions(input, imported.hub, imported.model) : input,
        );
        for (const w of prepared.warnings) if (!flags.json) log(`warning: ${w}`);
        const model = withPreparedMetadata(prepared, imported.source);
        assertValid(model);
        const bytes = encodeModel(model);
        imported = { ...imported, bytes, model: decodeModel(bytes), metadata: readBackboneMetadata(model) };
      }
      const out = path.resolve(flags.out);
      fs.mkdirSync(path.dirname(out), { recursive: true });
      fs.writeFileSync(out, imported.bytes);
      const m = imported.metadata;
      const result = {
        source: imported.source,
        out,
        bytes: imported.bytes.length,
        cached: imported.cached,
        cachePath: imported.path,
        seconds: (Date.now() - started) / 1000,
        input: m.input,
        outputs: m.outputs,
        features: m.features,
        labels: m.labels,
      };
      printResult(flags, result, () =>
        [
          `wrote ${out} (${(imported.bytes.length / 2 ** 20).toFixed(1)} MiB) from ${imported.source}` +
            (imported.cached ? ' (cached conversion)' : ''),
          m.input
            ? `input:    ${m.input.name} [${m.input.shape.join(', ')}] ${m.input.layout} float32` +
              (m.input.range ? `, values ${m.input.range[0]}..${m.input.range[1]}` : '')
            : 'input:    (no edgetune metadata)',
          ...(m.preprocess
            ? [
                `preprocess: ${m.preprocess.width}×${m.preprocess.height}, (pixel/255·${m.preprocess.scale} − mean [${m.preprocess.mean.join(', ')}]) / std [${m.preprocess.std.join(', ')}], ${m.preprocess.channelOrder ?? 'rgb'}`,
              ]
            : []),
          ...m.outputs.map((o) => `output:   ${o.name} [${o.shape.join(', ')}] ${o.kind}`),
          ...m.features.map(
            (f) => `feature:  ${f.name} [${f.shape.join(', ')}] (${f.kind}, layer ${f.layer})`,
          ),
          ...(m.labels ? [`labels:   ${m.labels.join(', ')}`] : []),
        ].join('\n'),
      );
    });

  backbone
    .command('layers')
    .description('list the Keras layer classes the tfjs → ONNX converter supports')
    .option('--json', 'print one JSON object')
    .action((options: { json?: boolean }) => {
      const classes = supportedLayerClasses();
      printResult(options, { layers: classes }, () => classes.join('\n'));
    });
}
