import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ModelManifestInput } from '../../../shared/manifest/manifest.ts';
import { encodeModel, GraphBuilder, int } from '../../../shared/onnx/index.ts';
import { createRng } from '../../../shared/random.ts';

/**
 * A small export as `edgetune train` writes it: manifest.json (no version yet) plus model bytes.
 * publishVersion only checks the bytes against the manifest's sha256 and size, so seeded random
 * bytes stand in for an ONNX graph (distinct seeds give distinct models) unless `model` is given.
 */
export function makeExport(
  seed: number,
  options: { size?: number; extra?: Record<string, string>; engines?: string[]; model?: Uint8Array } = {},
) {
  const rng = createRng(seed);
  const model = options.model ?? new Uint8Array(options.size ?? 4096);
  if (!options.model) for (let i = 0; i < model.length; i++) model[i] = Math.floor(rng() * 256);
  const manifest: ModelManifestInput = {
    schema: 1,
    name: 'export-name',
    createdAt: '2026-05-01T12:00:00.000Z',
    model: {
      file: 'model.onnx',
      sha256: createHash('sha256').update(model).digest('hex'),
      size: model.length,
    },
    input: { name: 'input', shape: ['N', 3, 32, 32] },
    outputs: { embeddingDim: 16 },
    labels: ['cat', 'dog'],
    preprocess: { width: 32, height: 32, channels: 3, layout: 'NCHW' },
    backbone: { source: 'test:random' },
    metrics: { accuracy: 0.5 + seed / 1000 },
    ...(options.engines ? { engines: options.engines } : {}),
  };
  const files: Record<string, Uint8Array> = { 'model.onnx': model };
  for (const [name, text] of Object.entries(options.extra ?? {}))
    files[name] = new TextEncoder().encode(text);
  return { manifest, files, sha256: manifest.model.sha256 };
}

/**
 * A real classifier graph matching makeExport's manifest (input [N, 3, 32, 32], embedding 16,
 * two labels), seeded: `edgetune publish` checks the manifest against the graph.
 */
export function tinyClassifierGraph(seed: number): Uint8Array {
  const rng = createRng(seed);
  const g = new GraphBuilder({ name: `tiny-${seed}` });
  const x = g.input('input', ['N', 3, 32, 32]);
  const w1 = g.initializer(
    'w1',
    Float32Array.from({ length: 3 * 16 }, () => rng() - 0.5),
    [3, 16],
  );
  const w2 = g.initializer(
    'w2',
    Float32Array.from({ length: 16 * 2 }, () => rng() - 0.5),
    [16, 2],
  );
  const [pooled] = g.node('GlobalAveragePool', [x], ['pooled']);
  const [flat] = g.node('Flatten', [pooled!], ['flat']);
  const [embedding] = g.node('MatMul', [flat!, w1], ['embedding']);
  const [logits] = g.node('MatMul', [embedding!, w2], ['logits']);
  g.node('Softmax', [logits!], ['probabilities'], { axis: int(-1) });
  g.output('probabilities', ['N', 2]);
  g.output('embedding', ['N', 16]);
  return encodeModel(g.build());
}

export async function writeExportDir(
  dir: string,
  seed: number,
  options: Parameters<typeof makeExport>[1] = {},
) {
  const exp = makeExport(seed, { ...options, model: tinyClassifierGraph(seed) });
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(exp.manifest, null, 2));
  for (const [name, bytes] of Object.entries(exp.files)) await writeFile(path.join(dir, name), bytes);
  return exp;
}
