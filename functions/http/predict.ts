/**
 * The common path of every inference endpoint: choose a version, turn the request into model
 * inputs with that version's preprocessing, run, and mirror to the shadow version afterwards.
 */
import type { Context } from 'hono';
import { EdgetuneError, errorMessage } from '../../shared/errors.ts';
import type { ModelManifest } from '../../shared/manifest/manifest.ts';
import type { PreprocessSpec } from '../../shared/manifest/preprocess.ts';
import { preprocessBytesAsync } from '../../shared/preprocess/preprocess.ts';
import { ensureCodecs } from '../runtime/codecs.ts';
import type { AppEnv } from '../runtime/env.ts';
import { EarlyInputs } from './early-inputs.ts';
import { argmax, type ItemOutputs, runItems } from '../runtime/inference.ts';
import type { RouteReason } from '../runtime/serve.ts';
import type { ModelSession } from '../runtime/session.ts';
import { getServices, type Services } from '../runtime/services.ts';
import { requestedPrecision } from './routes/params.ts';

/** Encoded images (preprocessed per version) or ready tensors (checked per version). */
export type ModelInput =
  | { kind: 'images'; images: Uint8Array[] }
  | { kind: 'tensors'; prepare: (session: ModelSession) => Float32Array[] };

export interface Prediction {
  name: string;
  version: string;
  reason: RouteReason;
  session: ModelSession;
  outputs: ItemOutputs[];
  timing: { preprocessMs: number; inferenceMs: number; totalMs: number };
}

export interface PredictRequest {
  name: string;
  explicit?: string;
  userKey?: string;
  input: ModelInput;
}

async function prepare(
  services: Services,
  session: ModelSession,
  input: ModelInput,
): Promise<Float32Array[]> {
  if (input.kind === 'tensors') return input.prepare(session);
  return prepareImages(services, session.manifest.preprocess, input.images);
}

async function prepareImages(
  services: Services,
  spec: PreprocessSpec,
  images: Uint8Array[],
): Promise<Float32Array[]> {
  const items: Float32Array[] = [];
  // One image at a time: a batch never holds more than one decode's buffers.
  for (const [i, bytes] of images.entries()) {
    try {
      items.push((await preprocessBytesAsync(bytes, spec, services.imageLimits)).data);
    } catch (e) {
      if (e instanceof EdgetuneError) throw e;
      // Whatever a decoder trips over in these bytes is the upload's fault, never a 500.
      throw new EdgetuneError('invalid_image', `image ${i}: cannot decode: ${errorMessage(e)}`);
    }
  }
  return items;
}

// Workers freeze clocks during CPU work in production (Spectre mitigation), so these read 0
// there; they are meaningful in local runs and tests. Measure latency at the client.
export async function predict(c: Context<AppEnv>, req: PredictRequest): Promise<Prediction> {
  const services = getServices(c);
  // One request may ask for the fp32 export (`x-model-precision: fp32`), read here so every
  // inference endpoint honours it; the shadow mirror keeps the isolate's default precision.
  const precision = requestedPrecision(c);
  const started = Date.now();
  let loadMs = 0;
  let preprocessMs = 0;
  let inferenceMs = 0;
  // The codecs are instantiated before routing so that their one-time cost never lands in
  // preprocess timing, and only on isolates that actually receive images.
  const { input } = req;
  if (input.kind !== 'tensors') await ensureCodecs();
  // A cold request decodes its images while the model files are read (early-inputs.ts); its
  // `preprocess` timing is then only what was left of the decode once the session was ready.
  const early =
    input.kind === 'images'
      ? new EarlyInputs((spec) => prepareImages(services, spec, input.images))
      : undefined;
  const beforeLoad = early && ((manifest: ModelManifest) => early.start(manifest.preprocess));
  const served = await services.server.serve({ ...req, precision, beforeLoad }, async (session) => {
    const t0 = Date.now();
    // Routing + manifest + session load (a cold request's start-up; ~0 when warm).
    loadMs = t0 - started;
    const items = early
      ? await early.take(session.manifest.preprocess)
      : await prepare(services, session, input);
    const t1 = Date.now();
    const outputs = await runItems(session, items);
    preprocessMs = t1 - t0;
    inferenceMs = Date.now() - t1;
    return { session, outputs };
  });
  if (served.shadow) {
    c.executionCtx.waitUntil(
      mirror(services, req, served.shadow, served.version, served.result.session, served.result.outputs),
    );
  }
  c.header('x-model-version', served.version);
  c.header('x-model-route', served.reason);
  c.header('x-engine', served.result.session.engine);
  c.header('x-model-precision', served.result.session.precision);
  c.header(
    'server-timing',
    `load;dur=${loadMs}, preprocess;dur=${preprocessMs}, inference;dur=${inferenceMs}`,
  );
  return {
    name: req.name,
    version: served.version,
    reason: served.reason,
    session: served.result.session,
    outputs: served.result.outputs,
    timing: { preprocessMs, inferenceMs, totalMs: Date.now() - started },
  };
}

/** Runs the shadow version on the same input and records how far it agrees; never throws. */
async function mirror(
  services: Services,
  req: PredictRequest,
  shadow: string,
  served: string,
  servedSession: ModelSession,
  servedOutputs: ItemOutputs[],
): Promise<void> {
  try {
    const { outputs, shadowLabels } = await services.cache.use(req.name, shadow, async (s) => ({
      outputs: await runItems(s, await prepare(services, s, req.input)),
      shadowLabels: s.manifest.labels,
    }));
    const servedLabels = servedSession.manifest.labels;
    const sameLabels =
      shadowLabels.length === servedLabels.length && shadowLabels.every((l, i) => l === servedLabels[i]);
    let top1Agree = 0;
    let maxAbsDiff = 0;
    let sumMaxAbsDiff = 0;
    outputs.forEach((o, i) => {
      const p = servedOutputs[i]!.probabilities;
      if (shadowLabels[argmax(o.probabilities)] === servedLabels[argmax(p)]) top1Agree++;
      // Probabilities are only comparable class by class when both versions share the labels.
      if (!sameLabels) return;
      let m = 0;
      for (let k = 0; k < p.length; k++) m = Math.max(m, Math.abs(o.probabilities[k]! - p[k]!));
      maxAbsDiff = Math.max(maxAbsDiff, m);
      sumMaxAbsDiff += m;
    });
    services.shadow.record(req.name, shadow, served, {
      compared: outputs.length,
      top1Agree,
      maxAbsDiff,
      sumMaxAbsDiff,
    });
  } catch (e) {
    console.warn(`shadow ${req.name}@${shadow} failed: ${errorMessage(e)}`);
    services.shadow.record(req.name, shadow, served, { errors: 1 });
  }
  await services.shadow.flush();
}
