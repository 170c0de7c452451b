/**
 * An existing classifier published as it is (`edgetune import-model`): the user's ONNX graph,
 * prepared like a backbone (input from the graph, opset, NCHW, free batch), with its class
 * scores and embedding exposed as the `probabilities` and `embedding` outputs every edgetune
 * export has (Softmax appended with --softmax), the manifest checked against the graph, and an
 * engine listed only after it matched onnxruntime-node on the same inputs.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as ort from '../inference/ort-node.ts';
import { EdgetuneError, errorMessage } from '../../shared/errors.ts';
import { assertManifestMatchesGraph } from '../../shared/manifest/check-graph.ts';
import type { ModelManifest } from '../../shared/manifest/manifest.ts';
import { vectorFeature } from '../../shared/onnx/backbone-graph.ts';
import { makeValueInfo } from '../../shared/onnx/builder.ts';
import { decodeModel, encodeModel, type ModelProto, TensorDataType } from '../../shared/onnx/proto.ts';
import { inferShapes } from '../../shared/onnx/shapes.ts';
import { assertValid } from '../../shared/onnx/validate.ts';
import { imagesToTensor, tensorDims } from '../../shared/preprocess/tensor.ts';
import type { RawImage } from '../../shared/preprocess/types.ts';
import { createRng } from '../../shared/random.ts';
import type { InputOptions } from '../backbones/input-options.ts';
import { prepareOnnxBackbone } from '../backbones/onnx-file.ts';
import { prepareEdgeVariants } from './edge-variants.ts';
import { buildManifest } from './manifest.ts';

export interface ImportClassifierOptions {
  file: string;
  /** What the manifest records as the model's source (default `onnx:<absolute file>`). */
  source?: string;
  name: string;
  labels: string[];
  input: InputOptions;
  probabilities?: string;
  embedding?: string;
  softmax?: boolean;
  outDir: string;
  log?: (message: string) => void;
}

export interface ImportedClassifier {
  outDir: string;
  manifest: ModelManifest;
  warnings: string[];
  engineParity?: number;
}

/** Ops whose output is already a probability (no --softmax needed). */
const PROBABILITY_OPS = new Set(['Softmax', 'Sigmoid']);

/** Seeded colour images at the input size: what the engine gate compares on. */
function gateImages(width: number, height: number, n = 3): RawImage[] {
  const rng = createRng(17);
  return Array.from({ length: n }, () => ({
    width,
    height,
    channels: 3 as const,
    data: Uint8Array.from({ length: width * height * 3 }, () => Math.floor(rng() * 256)),
  }));
}

export function readLabelsFile(file: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new EdgetuneError('not_found', `cannot read labels file ${file}: ${errorMessage(e)}`);
  }
  const labels = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  if (labels.length === 0) throw new EdgetuneError('bad_request', `labels file ${file} has no labels`);
  return labels;
}

export async function importClassifier(o: ImportClassifierOptions): Promise<ImportedClassifier> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(fs.readFileSync(o.file));
  } catch (e) {
    throw new EdgetuneError('not_found', `cannot read ${o.file}: ${errorMessage(e)}`);
  }
  const prepared = prepareOnnxBackbone(decodeModel(bytes), o.input);
  const warnings = [...prepared.warnings];
  let model: ModelProto = prepared.model;
  const g = model.graph!;
  const produced = new Map<string, string>();
  for (const n of g.node ?? []) for (const out of n.output ?? []) produced.set(out, n.opType ?? '');
  const graphOutputs = (g.output ?? []).map((x) => x.name ?? '');
  const probs = o.probabilities ?? (graphOutputs.length === 1 ? graphOutputs[0]! : undefined);
  if (!probs) {
    throw new EdgetuneError(
      'bad_request',
      `the graph has ${graphOutputs.length} outputs (${graphOutputs.join(', ')}): pass --probabilities <tensor>`,
    );
  }
  for (const [flag, t] of [
    ['--probabilities', probs],
    ['--embedding', o.embedding],
  ] as const) {
    if (t !== undefined && !produced.has(t)) {
      throw new EdgetuneError(
        'not_found',
        `${flag} ${t} is not a tensor of ${path.basename(o.file)} (see inspect --tensors)`,
      );
    }
  }
  const shapes = inferShapes(model);
  const probShape = shapes.get(probs)?.shape ?? [];
  const classes = probShape[probShape.length - 1];
  if (probShape.length !== 2 || classes !== o.labels.length) {
    throw new EdgetuneError(
      'bad_request',
      `${probs} is [${probShape.join(', ')}]: ${typeof classes === 'number' ? `${classes} classes` : 'unknown classes'}, ` +
        `but the labels file has ${o.labels.length} labels`,
    );
  }
  if (!o.softmax && !PROBABILITY_OPS.has(produced.get(probs) ?? '')) {
    warnings.push(
      `${probs} is computed by ${produced.get(probs)}, not Softmax: it looks like logits, served as scores; pass --softmax for probabilities`,
    );
  }
  const vector = vectorFeature(model, o.embedding ?? prepared.features[0]!.name);
  model = vector.model;
  const embeddingDim = inferShapes(model).get(vector.tensor)?.shape?.[1];
  if (typeof embeddingDim !== 'number') {
    throw new EdgetuneError('bad_request', `cannot determine the size of embedding ${vector.tensor}`);
  }
  const taken = new Set([...produced.keys(), ...(g.input ?? []).map((i) => i.name)]);
  for (const n of ['probabilities', 'embedding']) {
    if (taken.has(n) && n !== probs && n !== vector.tensor)
      throw new EdgetuneError('conflict', `the graph already has a tensor named ${n}`);
  }
  const mg = model.graph!;
  model = {
    ...model,
    graph: {
      ...mg,
      node: [
        ...(mg.node ?? []),
        {
          opType: o.softmax ? 'Softmax' : 'Identity',
          name: 'edgetune/probabilities',
          input: [probs],
          output: ['probabilities'],
          ...(o.softmax ? { attribute: [{ name: 'axis', type: 2, i: -1 }] } : {}),
        },
        { opType: 'Identity', name: 'edgetune/embedding', input: [vector.tensor], output: ['embedding'] },
      ],
      output: [
        makeValueInfo('probabilities', TensorDataType.FLOAT, ['N', classes]),
        makeValueInfo('embedding', TensorDataType.FLOAT, ['N', embeddingDim]),
      ],
    },
  };
  assertValid(model);
  const out = encodeModel(model);
  const spec = prepared.preprocess;

  // Reference probabilities from onnxruntime-node; the engine is listed only if it matches them.
  const images = gateImages(spec.width, spec.height);
  const session = await ort.InferenceSession.create(out, { intraOpNumThreads: 1 });
  const result = await session.run({
    [prepared.input.name]: new ort.Tensor(
      'float32',
      imagesToTensor(images, spec),
      tensorDims(spec, images.length),
    ),
  });
  await session.release();
  const expected = result.probabilities!.data as Float32Array;
  const variants = await prepareEdgeVariants(out, images, spec, expected, classes);
  for (const note of variants.notes) o.log?.(note);

  const manifest = buildManifest({
    name: o.name,
    inputName: prepared.input.name,
    modelBytes: out,
    labels: o.labels,
    preprocess: spec,
    embeddingDim,
    backbone: {
      source: o.source ?? `onnx:${path.resolve(o.file)}`,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      featureTensor: vector.tensor,
    },
    metrics: 'maxAbsDiff' in variants.engine ? { engineParityMaxAbsDiff: variants.engine.maxAbsDiff } : {},
    optimized: variants.optimized
      ? { file: variants.optimized.file, sha256: variants.optimized.sha256, size: variants.optimized.size }
      : null,
    engines: variants.engines,
  });
  assertManifestMatchesGraph(manifest, decodeModel(out), `${o.name}: the manifest does not match the graph`);
  fs.mkdirSync(o.outDir, { recursive: true });
  fs.writeFileSync(path.join(o.outDir, 'model.onnx'), out);
  if (variants.optimized)
    fs.writeFileSync(path.join(o.outDir, variants.optimized.file), variants.optimized.bytes);
  fs.writeFileSync(path.join(o.outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return {
    outDir: o.outDir,
    manifest,
    warnings,
    engineParity: 'maxAbsDiff' in variants.engine ? variants.engine.maxAbsDiff : undefined,
  };
}
