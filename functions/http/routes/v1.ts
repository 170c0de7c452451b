/** The simple API: `/v1/models`, `/v1/models/{name}[/versions/{v}]/{classify|embed}`. */
import { type Context, Hono } from 'hono';
import { z } from 'zod';
import { listModels } from '../../../shared/registry/models.ts';
import { float32ToBase64 } from '../base64.ts';
import type { AppEnv } from '../../runtime/env.ts';
import { topK } from '../../runtime/inference.ts';
import { limitBody } from '../middleware/body-limit.ts';
import { predict } from '../predict.ts';
import { readImageRequest } from '../request-images.ts';
import { getServices } from '../../runtime/services.ts';
import { parseInput } from '../validate.ts';
import { explicitVersion, modelParam, userKey } from './params.ts';

export const v1 = new Hono<AppEnv>();

const ClassifyQuery = (maxTopK: number) =>
  z.object({ top_k: z.coerce.number().int().min(1).max(maxTopK).default(5) }).loose();
const EmbedQuery = z.object({ encoding: z.enum(['json', 'base64']).default('json') }).loose();

async function classify(c: Context<AppEnv>) {
  const services = getServices(c);
  const name = modelParam(c);
  const explicit = explicitVersion(c);
  const { top_k } = parseInput(ClassifyQuery(services.config.maxTopK), c.req.query(), 'query');
  const request = await readImageRequest(c.req.raw, services.config.maxBatch);
  const p = await predict(c, { name, explicit, userKey: userKey(c), input: { kind: 'images', ...request } });
  const labels = p.session.manifest.labels;
  const k = Math.min(top_k, labels.length);
  const results = p.outputs.map((o) => ({ predictions: topK(o.probabilities, labels, k) }));
  const head = { model: p.name, version: p.version };
  return c.json(
    request.batch
      ? { ...head, results, timing_ms: p.timing.totalMs }
      : { ...head, predictions: results[0]!.predictions, timing_ms: p.timing.totalMs },
  );
}

async function embed(c: Context<AppEnv>) {
  const services = getServices(c);
  const name = modelParam(c);
  const explicit = explicitVersion(c);
  const { encoding } = parseInput(EmbedQuery, c.req.query(), 'query');
  const request = await readImageRequest(c.req.raw, services.config.maxBatch);
  const p = await predict(c, { name, explicit, userKey: userKey(c), input: { kind: 'images', ...request } });
  const encode = (e: Float32Array) => (encoding === 'base64' ? float32ToBase64(e) : Array.from(e));
  const head = {
    model: p.name,
    version: p.version,
    dim: p.session.manifest.outputs.embeddingDim,
    ...(encoding === 'base64' ? { encoding: 'float32-le-base64' } : {}),
  };
  return c.json(
    request.batch
      ? { ...head, embeddings: p.outputs.map((o) => encode(o.embedding)), timing_ms: p.timing.totalMs }
      : { ...head, embedding: encode(p.outputs[0]!.embedding), timing_ms: p.timing.totalMs },
  );
}

v1.post('/models/:name/classify', limitBody(), classify);
v1.post('/models/:name/versions/:version/classify', limitBody(), classify);
v1.post('/models/:name/embed', limitBody(), embed);
v1.post('/models/:name/versions/:version/embed', limitBody(), embed);

/** Every model with its versions and routing (the registry's listing, as `models list` prints it). */
v1.get('/models', async (c) => c.json({ models: await listModels(getServices(c).store) }));
