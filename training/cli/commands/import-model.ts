import path from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { EdgetuneError } from '../../../shared/errors.ts';
import { addInputFlags, inputOptionsFromFlags } from '../../backbones/input-options.ts';
import { importClassifier, readLabelsFile } from '../../export/import-classifier.ts';
import { openStore } from '../../../shared/store/node/open.ts';
import { publishExportDir } from '../../registry/publish-dir.ts';
import { log, printResult } from '../output.ts';

const Flags = z.object({
  name: z.string().min(1),
  labels: z.string().min(1),
  probabilities: z.string().min(1).optional(),
  embedding: z.string().min(1).optional(),
  softmax: z.boolean().optional(),
  out: z.string().min(1).optional(),
  store: z.string().min(1).optional(),
  json: z.boolean().optional(),
});

export function register(program: Command): void {
  addInputFlags(program.command('import-model <model.onnx>'))
    .description(
      'publish an existing ONNX classifier as it is: its scores become `probabilities` (--softmax adds a Softmax), ' +
        'an embedding tensor becomes `embedding`, the manifest is checked against the graph, and the edge engine is ' +
        'listed only after it matched onnxruntime-node',
    )
    .requiredOption('--name <model>', 'model name ([a-z0-9][a-z0-9_-]*)')
    .requiredOption('--labels <labels.txt>', 'class labels, one per line, in output order')
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
      const r = await importClassifier({
        file,
        name: f.name,
        labels: readLabelsFile(f.labels),
        input,
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
