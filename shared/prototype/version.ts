/**
 * Builds a prototype version's files: the parent's graph up to its embedding plus the prototype
 * head (one ONNX file), the examples' embeddings, and the manifest that records where it came
 * from. Nothing is written here; the caller checks the graph on its engine and publishes.
 */
import { assertManifestMatchesGraph } from '../manifest/check-graph.ts';
import { type ModelManifest, ModelManifestSchema } from '../manifest/manifest.ts';
import { encodeModel, decodeModel } from '../onnx/proto.ts';
import { sha256Hex } from '../store/digest.ts';
import { EXAMPLES_FILE, encodeEmbeddings } from './examples.ts';
import { appendPrototypeHead } from './graph.ts';
import { fitPrototypeHead, type PrototypeHead } from './head.ts';
import type { StoredExample } from './parent.ts';

/**
 * What a head is built on: a published version (edge: `PrototypeParent`) or, in the CLI, a
 * backbone's embedding graph that has no version yet (`model`/`version` absent).
 */
export interface PrototypeBase {
  model?: string;
  version?: string;
  manifest: Pick<ModelManifest, 'input' | 'outputs' | 'preprocess' | 'backbone' | 'labels' | 'head'>;
  bytes: Uint8Array;
  examples: StoredExample[];
}

export interface PrototypeVersionFiles {
  /** The export manifest (no version yet: the registry assigns it on publish). */
  manifest: ModelManifest;
  files: Record<string, Uint8Array>;
  head: PrototypeHead;
  /** Every example the head was fitted on (the parent's first, then the new ones). */
  examples: StoredExample[];
}

export async function buildPrototypeVersion(
  name: string,
  parent: PrototypeBase,
  added: readonly StoredExample[],
  engines: readonly string[],
  now: Date = new Date(),
  metrics: Record<string, number> = {},
): Promise<PrototypeVersionFiles> {
  const examples = [...parent.examples, ...added];
  const pm = parent.manifest;
  // A prototype parent keeps its class order, so existing classes keep their output index.
  const head = fitPrototypeHead(examples, parent.examples.length > 0 ? pm.labels : undefined);
  const graph = appendPrototypeHead(decodeModel(parent.bytes), pm.outputs.embedding, head);
  const model = encodeModel(graph.model);
  const embeddings = encodeEmbeddings(examples.map((e) => e.embedding));
  const entry = async (file: string, bytes: Uint8Array) => ({
    file,
    sha256: await sha256Hex(bytes),
    size: bytes.byteLength,
  });
  const manifest = ModelManifestSchema.parse({
    schema: 1,
    name,
    createdAt: now.toISOString(),
    task: 'classification',
    model: await entry('model.onnx', model),
    input: pm.input,
    outputs: {
      probabilities: graph.probabilities,
      embedding: pm.outputs.embedding,
      embeddingDim: pm.outputs.embeddingDim,
    },
    labels: head.labels,
    preprocess: pm.preprocess,
    backbone: pm.backbone,
    metrics: { ...metrics, leave_one_out_accuracy: head.leaveOneOutAccuracy, examples: examples.length },
    parent: parent.model === name ? (parent.version ?? null) : null,
    head: {
      method: 'prototype',
      // Always the version whose embedding graph this is, even when built on a prototype version.
      from:
        pm.head?.from ??
        (parent.model && parent.version ? { model: parent.model, version: parent.version } : undefined),
      temperature: head.temperature,
      examples: examples.map((e) => ({ label: e.label, sha256: e.sha256 })),
      embeddings: await entry(EXAMPLES_FILE, embeddings),
    },
    engines: [...engines],
  });
  assertManifestMatchesGraph(manifest, graph.model, `prototype version of ${name}`);
  return { manifest, files: { 'model.onnx': model, [EXAMPLES_FILE]: embeddings }, head, examples };
}
