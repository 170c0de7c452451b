import path from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { EdgetuneError } from '../../../shared/errors.ts';
import { localModelFile } from '../../backbones/hub/local-model-file.ts';
import { addInputFlags, inputOptionsFromFlags } from '../../backbones/input-options.ts';
import { importClassifier, readLabelsFile } from '../../export/import-classifier.ts';
import { openStore } from '../../../shared/store/node/open.ts';
import { publishExportDir } from '../../registry/publish-dir.ts';
import { log, printResult } from '../output.ts';

const Flags = z.object({
  name: z.string().min(1),
  labels: z.string().min(1).optional(),
  sha256: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, '--sha256 takes 64 hex digits')
    .optional(),
  probabilities: z.string().min(1).optional(),
  embedding: z.string().min(1).optional(),
  softmax: z.boolean().optional(),
  out: z.string().min(1).optional(),
  store: z.string().min(1).optional(),
  json: z.boolean().optional(),
});

export function register(program: Command): void {
  addInputFlags(program.command('import-model <model.onnx|hf:…|https://…>'))
    .description(
      'publish an existing ONNX classifier as it is: its scores become `probabilities` (--softmax adds a Softmax), ' +
        'an embedding tensor becomes `embedding`, the manifest is checked against the graph, and the edge engine is ' +
        'listed only after it matched onnxruntime-node',
    )
    .requiredOption('--name <model>', 'model name ([a-z0-9][a-z0-9_-]*)')
    .option(
      '--labels <labels.txt>',
      "class labels, one per line, in output order (a hub repository's config.json id2label otherwise)",
    )
    .option('--sha256 <hex>', 'the sha256 a downloaded model must have')
    .option('--probabilities <tensor>', 'tensor with the class scores (default: the only graph output)')
    .option(
      '--embedding <tensor>',
      'embedding tensor (default: the input of the final Gemm/MatMul; pooled if spatial)',
    )
    .option('--softmax', 'apply Softmax to the scores (for a graph that outputs logits)')
    .option('--out <dir>', 'export directory (default .edgetune/imports/<name>)')
    .option('--store <url>', 'publish to this store: file://<dir> or s3://<bucket>/<prefix>')
    .option('--json', 'print one JSON object')
    .action(async (file: string, raw: unknown) => {
      const input = inputOptionsFromFlags(raw);
      const parsed = Flags.safeParse(raw);
      if (!parsed.success)
        throw new EdgetuneError('bad_request', parsed.error.issues[0]?.message ?? 'bad flags');
      const f = parsed.data;
      const outDir = path.resolve(f.out ?? path.join('.edgetune', 'imports', f.name));
      const source = await localModelFile(file, input, f.sha256, f.json ? undefined : log);
      const labels = f.labels ? readLabelsFile(f.labels) : source.labels;
      if (!labels) {
        throw new EdgetuneError(
          'bad_request',
          '--labels <labels.txt> is required (only a hub repository with config.json id2label supplies them)',
        );
      }
      const r = await importClassifier({
        file: source.file,
        source: source.source,
        name: f.name,
        labels,
        input: source.input,
        probabilities: f.probabilities,
        embedding: f.embedding,
        softmax: f.softmax,
        outDir,
        log: f.json ? undefined : log,
      });
      if (!f.json) for (const w of r.warnings) log(`warning: ${w}`);
      const published = f.store ? await publishExportDir(openStore(f.store), f.name, outDir) : undefined;
      printResult(
        f,
        {
          outDir,
          manifest: r.manifest,
          engines: r.manifest.engines,
          engineParity: r.engineParity,
          warnings: r.warnings,
          version: published?.version,
        },
        () =>
          [
            `wrote ${outDir} (model.onnx, manifest.json): ${r.manifest.labels.length} labels, embedding ${r.manifest.outputs.embeddingDim}-d, engines ${r.manifest.engines.join(', ')}`,
            ...(published ? [`published ${f.name} ${published.version} to ${f.store}`] : []),
          ].join('\n'),
      );
    });
}
