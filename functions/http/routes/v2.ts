/**
 * The Open Inference Protocol (KServe V2) subset: health, model metadata and readiness, and
 * `infer` with one input — an FP32 tensor in the model's input layout, or BYTES holding base64
 * PNG/JPEG images — returning the `probabilities` and `embedding` outputs.
 */
import { type Context, Hono } from 'hono';
import { z } from 'zod';
import { EdgetuneError } from '../../../shared/errors.ts';
import { listVersionIds } from '../../../shared/registry/versions.ts';
import { decodeBase64 } from '../base64.ts';
import type { AppEnv } from '../../runtime/env.ts';
import { itemShape } from '../../runtime/inference.ts';
import { limitBody } from '../middleware/body-limit.ts';
import { type ModelInput, predict } from '../predict.ts';
import type { ModelSession } from '../../runtime/session.ts';
import { assertEdgeReady, assertModelReady } from '../../runtime/readiness.ts';
import { getServices } from '../../runtime/services.ts';
import { parseInput, readJsonBody } from '../validate.ts';
import { explicitVersion, modelParam, userKey } from './params.ts';

export const v2 = new Hono<AppEnv>();

const OUTPUTS = ['probabilities', 'embedding'] as const;

const InferRequest = z
  .object({
    id: z.string().max(256).optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    inputs: z
      .array(
        z.object({
          name: z.string().min(1).max(256),
          shape: z
            .array(
              z
                .number()
                .int()
                .min(0)
                .max(1 << 24),
            )
            .min(1)
            .max(8),
          datatype: z.string(),
          data: z.array(z.unknown()),
          parameters: z.record(z.string(), z.unknown()).optional(),
        }),
      )
      .length(1, 'exactly one input is supported'),
    outputs: z
      .array(z.object({ name: z.enum(OUTPUTS), parameters: z.record(z.string(), z.unknown()).optional() }))
      .optional(),
  })
  .strict();
type InferInput = z.infer<typeof InferRequest>['inputs'][number];

/** Nested or flat `data` → flat list, at most `limit` leaves and 8 levels deep. */
function flatten(data: unknown[], limit: number): unknown[] {
  const out: unknown[] = [];
  const walk = (v: unknown[], depth: number) => {
    if (depth > 8) throw new EdgetuneError('invalid_tensor', 'data is nested too deeply');
    for (const x of v) {
      if (Array.isArray(x)) walk(x, depth + 1);
      else if (out.push(x) > limit)
        throw new EdgetuneError('invalid_tensor', `data has more than ${limit} values`);
    }
  };
  walk(data, 0);
  return out;
}

function fp32Items(input: InferInput, session: ModelSession, maxBatch: number): Float32Array[] {
  const manifest = session.manifest;
  if (input.name !== manifest.input.name) {
    throw new EdgetuneError(
      'invalid_tensor',
      `unknown input ${JSON.stringify(input.name)}: expected ${manifest.input.name}`,
    );
  }
  const item = itemShape(manifest.preprocess);
  const [n, ...rest] = input.shape;
  if (rest.length !== item.length || rest.some((d, i) => d !== item[i]) || !n || n > maxBatch) {
    throw new EdgetuneError(
      'invalid_tensor',
      `shape [${input.shape.join(',')}] does not fit [N,${item.join(',')}] with 1 ≤ N ≤ ${maxBatch}`,
    );
  }
  const per = item.reduce((a, b) => a * b, 1);
  const values = flatten(input.data, n * per);
  if (values.length !== n * per) {
    throw new EdgetuneError('invalid_tensor', `data has ${values.length} values; shape needs ${n * per}`);
  }
  const data = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new EdgetuneError('invalid_tensor', `data[${i}] is not a finite number`);
    }
    data[i] = v;
  }
  return Array.from({ length: n }, (_, i) => data.subarray(i * per, (i + 1) * per));
}

function modelInput(input: InferInput, maxBatch: number): ModelInput {
  if (input.datatype === 'BYTES') {
    if (input.shape.length !== 1 || input.shape[0] !== input.data.length || !input.data.length) {
      throw new EdgetuneError('invalid_tensor', 'BYTES input must have shape [N] and N base64 images');
    }
    if (input.data.length > maxBatch) throw new EdgetuneError('invalid_tensor', `at most ${maxBatch} images`);
    const images = input.data.map((d, i) => {
      if (typeof d !== 'string')
        throw new EdgetuneError('invalid_tensor', `data[${i}] must be a base64 string`);
      return decodeBase64(d, `data[${i}]`);
    });
    return { kind: 'images', images };
  }
  if (input.datatype !== 'FP32') {
    throw new EdgetuneError(
      'invalid_tensor',
      `datatype ${JSON.stringify(input.datatype)}: use FP32 or BYTES`,
    );
  }
  return { kind: 'tensors', prepare: (session) => fp32Items(input, session, maxBatch) };
}

async function infer(c: Context<AppEnv>) {
  const services = getServices(c);
  const name = modelParam(c);
  const explicit = explicitVersion(c);
  const body = parseInput(InferRequest, await readJsonBody(c.req.raw));
  const input = modelInput(body.inputs[0]!, services.config.maxBatch);
  const p = await predict(c, { name, explicit, userKey: userKey(c), input });
  const wanted = new Set(body.outputs?.map((o) => o.name) ?? OUTPUTS);
  const n = p.outputs.length;
  const outputs = OUTPUTS.filter((o) => wanted.has(o)).map((o) => {
    const parts = p.outputs.map((x) => x[o]);
    return {
      name: o,
      datatype: 'FP32',
      shape: [n, parts[0]!.length],
      data: parts.flatMap((x) => Array.from(x)),
    };
  });
  return c.json({
    model_name: p.name,
    model_version: p.version,
    ...(body.id ? { id: body.id } : {}),
    outputs,
  });
}

async function metadata(c: Context<AppEnv>, version: string) {
  const { cache, store } = getServices(c);
  const name = modelParam(c);
  const manifest = await cache.manifest(name, version);
  const batch = typeof manifest.input.shape[0] === 'number' ? manifest.input.shape[0] : -1;
  return c.json({
    name,
    versions: await listVersionIds(store, name),
    platform: 'onnxruntime_onnx',
    inputs: [
      { name: manifest.input.name, datatype: 'FP32', shape: [batch, ...itemShape(manifest.preprocess)] },
    ],
    outputs: [
      { name: 'probabilities', datatype: 'FP32', shape: [batch, manifest.labels.length] },
      { name: 'embedding', datatype: 'FP32', shape: [batch, manifest.outputs.embeddingDim] },
    ],
    parameters: { version, task: manifest.task, labels: manifest.labels, preprocess: manifest.preprocess },
  });
}

/** The version metadata/readiness describe when none is named: stable, else the newest. */
async function defaultVersion(c: Context<AppEnv>): Promise<string> {
  const name = modelParam(c);
  const view = await getServices(c).cache.routing(name);
  const version = view.doc?.stable ?? view.doc?.candidates[0]?.version ?? view.newest;
  if (!version) throw new EdgetuneError('not_found', `model ${name} not found (no published version)`);
  return version;
}

async function ready(c: Context<AppEnv>, version: string) {
  const { cache } = getServices(c);
  const name = modelParam(c);
  await cache.manifest(name, version);
  await cache.load(name, version);
  return c.json({ name, version, ready: true });
}

v2.get('/health/live', (c) => c.json({ live: true }));
v2.get('/health/ready', async (c) => {
  await c.var.backends.ready();
  const { store, cache } = getServices(c);
  await assertEdgeReady(store, cache);
  return c.json({ ready: true });
});
v2.get('/models/:name', async (c) => metadata(c, await defaultVersion(c)));
v2.get('/models/:name/ready', async (c) => {
  const { store, cache } = getServices(c);
  await assertModelReady(store, cache, modelParam(c));
  return ready(c, await defaultVersion(c));
});
v2.get('/models/:name/versions/:version', (c) => metadata(c, explicitVersion(c)!));
v2.get('/models/:name/versions/:version/ready', (c) => ready(c, explicitVersion(c)!));
v2.post('/models/:name/infer', limitBody(), infer);
v2.post('/models/:name/versions/:version/infer', limitBody(), infer);
