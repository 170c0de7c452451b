/**
 * The start-up warm-up of what a cold request parses before any model code runs: the edge's
 * settings, a routing document and a published manifest (through the same parse function and
 * schemas as the reads from R2), and a route match (Hono builds its router on the first match).
 * zod and the router pay for their first use with cold, unoptimised code (lazy compilation, lazy
 * schema set-up), tens of times what a warm parse costs. Doing it at global scope, with documents
 * made here (no I/O, which Workers forbid there), moves that cost from the first request to the
 * isolate's start. The requests still validate everything they read: only the code is warm.
 */
import type { Hono } from 'hono';
import { engineArtifactFile } from '../../shared/engine/index.ts';
import { INT8_FILE } from '../../shared/manifest/manifest.ts';
import { passedInt8Variant } from '../../shared/manifest/passed-int8-variant.ts';
import { WARMUP_SPEC } from '../../shared/preprocess/warmup.ts';
import { PublishedManifestSchema } from '../../shared/registry/versions.ts';
import { RoutingDocSchema } from '../../shared/routing/schema.ts';
import { parseJsonObject } from '../../shared/store/json.ts';
import { readConfig } from './config.ts';
import type { AppEnv } from './env.ts';

const SHA = '0'.repeat(64);
const AT = '2026-01-01T00:00:00.000Z';

/** A routing document with every field a rollout sets. */
const ROUTING = {
  stable: 'v1',
  candidates: [{ version: 'v2', weight: 10 }],
  shadow: { version: 'v3', sample: 0.1 },
  updatedAt: AT,
  reason: 'warm-up',
  previousStables: ['v0'],
};

/** A published manifest as `edgetune train --quantize int8` writes it (int8 variant and its engine artifact). */
const MANIFEST = {
  schema: 1,
  name: 'warm-up',
  version: 'v1',
  createdAt: AT,
  task: 'classification',
  model: { file: 'model.onnx', sha256: SHA, size: 1 },
  input: { name: 'input', shape: ['N', 3, 224, 224] },
  outputs: { probabilities: 'probabilities', embedding: 'embedding', embeddingDim: 8 },
  labels: ['a', 'b'],
  preprocess: WARMUP_SPEC,
  backbone: { source: 'warm-up', sha256: SHA, featureTensor: 'features' },
  datasetDigest: SHA,
  metrics: { accuracy: 1 },
  parent: null,
  engines: ['onnxruntime', 'edgetune-wasm'],
  variants: [
    {
      ...passedInt8Variant({ sha256: SHA, size: 1, engines: ['onnxruntime'] }),
      engine: { file: engineArtifactFile(INT8_FILE), sha256: SHA, size: 1, format: 1 },
    },
  ],
};

function parseStored(key: string, value: object, schema: Parameters<typeof parseJsonObject>[1]): void {
  const body = new TextEncoder().encode(JSON.stringify(value));
  parseJsonObject({ key, body, size: body.byteLength, etag: 'warm-up', uploaded: new Date(AT) }, schema);
}

/** Throws when a sample no longer parses (the schemas changed): the warm-up would then be partial. */
export function warmUpParsing(app: Hono<AppEnv>): void {
  readConfig({});
  parseStored('routing.json', ROUTING, RoutingDocSchema);
  parseStored('manifest.json', MANIFEST, PublishedManifestSchema);
  const [handlers] = app.router.match('POST', '/v1/models/warm-up/classify');
  if (handlers.length === 0) throw new Error('no route matched the classify path');
}
