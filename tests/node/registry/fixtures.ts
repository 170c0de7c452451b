import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ModelManifestInput } from '../../../shared/manifest/manifest.ts';
import { createRng } from '../../../shared/random.ts';

/**
 * A small export as `edgetune train` writes it: manifest.json (no version yet) plus model bytes.
 * The registry only checks the bytes against the manifest's sha256 and size, so seeded random
 * bytes stand in for an ONNX graph; distinct seeds give distinct models.
 */
export function makeExport(
  seed: number,
  options: { size?: number; extra?: Record<string, string>; engines?: string[] } = {},
) {
  const rng = createRng(seed);
  const model = new Uint8Array(options.size ?? 4096);
  for (let i = 0; i < model.length; i++) model[i] = Math.floor(rng() * 256);
  const manifest: ModelManifestInput = {
    schema: 1,
    name: 'export-name',
    createdAt: '2026-05-01T12:00:00.000Z',
    model: {
      file: 'model.onnx',
      sha256: createHash('sha256').update(model).digest('hex'),
      size: model.length,
    },
    input: { name: 'input', shape: [1, 3, 32, 32] },
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

export async function writeExportDir(
  dir: string,
  seed: number,
  options: Parameters<typeof makeExport>[1] = {},
) {
  const exp = makeExport(seed, options);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(exp.manifest, null, 2));
  for (const [name, bytes] of Object.entries(exp.files)) await writeFile(path.join(dir, name), bytes);
  return exp;
}
