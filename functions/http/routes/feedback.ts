/**
 * `POST /v1/models/{name}/feedback` (Bearer FEEDBACK_TOKEN): an image and its true label, stored
 * content-addressed under `datasets/{name}/feedback/` for retraining. Sent with REVIEWER_TOKEN
 * instead, the label is stored as trusted: it may join the retrain gate's evaluation holdout
 * (feedback from the ordinary token trains but never judges). Mount with `app.route('/v1', feedback)`.
 */
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { EdgetuneError } from '../../../shared/errors.ts';
import { checkLabel, servedLabels } from '../../../shared/feedback/labels.ts';
import { FeedbackLabelSchema, FeedbackPredictionSchema } from '../../../shared/feedback/schema.ts';
import { saveFeedback } from '../../../shared/feedback/store.ts';
import { readPolicy } from '../../../shared/jobs/policy.ts';
import { type RetrainPolicy, RetrainPolicySchema } from '../../../shared/jobs/schema.ts';
import { NAME_PATTERN } from '../../../shared/names.ts';
import { decodeBase64 } from '../base64.ts';
import type { AppEnv } from '../../runtime/env.ts';
import { tokensEqual } from '../middleware/admin-auth.ts';
import { type BodyLimitSource, limitBody } from '../middleware/body-limit.ts';
import { readFormImages } from '../form-files.ts';
import { getServices } from '../../runtime/services.ts';
import { mediaType, parseInput, readJsonBody } from '../validate.ts';
import { modelParam } from './params.ts';

type FeedbackEnv = AppEnv & { Variables: { policy: RetrainPolicy | null } };

export const feedback = new Hono<FeedbackEnv>();

/** Which configured token the request carries: the reviewer's, the ordinary one, or neither. */
async function feedbackRole<E extends AppEnv>(c: Context<E>): Promise<'reviewer' | 'sender' | null> {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '');
  if (!match) return null;
  const reviewer = c.env.REVIEWER_TOKEN;
  if (reviewer && (await tokensEqual(match[1]!, reviewer))) return 'reviewer';
  const sender = c.env.FEEDBACK_TOKEN;
  if (sender && (await tokensEqual(match[1]!, sender))) return 'sender';
  return null;
}

/** 401 for a missing or wrong token (no hint which); 403 when feedback is switched off. */
export function requireFeedbackToken(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const bearer = /^Bearer\s+\S+\s*$/i.test(c.req.header('authorization') ?? '');
    if (bearer && !c.env.FEEDBACK_TOKEN && !c.env.REVIEWER_TOKEN) {
      throw new EdgetuneError('forbidden', 'feedback is disabled: FEEDBACK_TOKEN is not set');
    }
    if ((await feedbackRole(c)) === null) {
      c.header('www-authenticate', 'Bearer realm="edgetune-feedback"');
      throw new EdgetuneError('unauthorized', 'missing or invalid Authorization: Bearer <feedback token>');
    }
    await next();
  };
}

const Version = z.string().regex(NAME_PATTERN, 'must be a version id such as v3');

const JsonBody = z
  .object({
    image: z.string().min(1, 'must be a non-empty base64 string'),
    label: FeedbackLabelSchema,
    version: Version.optional(),
    prediction: FeedbackPredictionSchema.optional(),
  })
  .strict();

const FormFields = z.object({
  label: FeedbackLabelSchema,
  version: Version.optional(),
  prediction: FeedbackLabelSchema.optional(),
});

interface FeedbackBody {
  image: Uint8Array;
  label: string;
  version?: string;
  prediction?: string;
}

async function readFeedbackBody(req: Request): Promise<FeedbackBody> {
  const type = mediaType(req.headers.get('content-type'));
  if (type === 'multipart/form-data') {
    const { images, form } = await readFormImages(req, 1, 'one sample per feedback request');
    const text = (k: string) => {
      const v = form.get(k);
      return typeof v === 'string' && v !== '' ? v : undefined;
    };
    const fields = parseInput(FormFields, {
      label: text('label'),
      version: text('version'),
      prediction: text('prediction'),
    });
    return { image: images[0]!.bytes, ...fields };
  }
  if (type === 'application/json') {
    const body = parseInput(JsonBody, await readJsonBody(req));
    const prediction = typeof body.prediction === 'string' ? body.prediction : body.prediction?.label;
    return { image: decodeBase64(body.image, 'image'), label: body.label, version: body.version, prediction };
  }
  throw new EdgetuneError(
    'unsupported_media_type',
    `unsupported content-type ${type ? JSON.stringify(type) : '(none)'}: send application/json or multipart/form-data`,
  );
}

/**
 * The model's policy, read once before the body: its per-request size bounds the body limit, its
 * quotas and label rules decide what is stored. No policy = the schema's defaults.
 */
function loadPolicy(): MiddlewareHandler<FeedbackEnv> {
  return async (c, next) => {
    const read = await readPolicy(getServices(c).store, modelParam(c));
    c.set('policy', read?.policy ?? null);
    await next();
  };
}

/** The smaller of the edge's body limit and the policy's per-request feedback size. */
const feedbackBodyLimit: BodyLimitSource<FeedbackEnv> = (c) => {
  const edge = getServices(c).config.maxBodyBytes;
  const own = effectivePolicy(c.get('policy')).maxFeedbackRequestBytes;
  return own !== null && own < edge
    ? { bytes: own, name: "the policy's maxFeedbackRequestBytes" }
    : { bytes: edge, name: 'MAX_BODY_BYTES' };
};

function effectivePolicy(policy: RetrainPolicy | null): RetrainPolicy {
  return policy ?? RetrainPolicySchema.parse({});
}

async function postFeedback(c: Context<FeedbackEnv>) {
  const services = getServices(c);
  const name = modelParam(c);
  const body = await readFeedbackBody(c.req.raw);
  const store = services.store;
  const stored = c.get('policy');
  const policy = effectivePolicy(stored);
  const served = await servedLabels(store, name);
  const knownLabel = checkLabel(body.label, served.labels, stored);
  const trusted = (await feedbackRole(c)) === 'reviewer';
  const saved = await saveFeedback(store, name, {
    image: body.image,
    label: body.label,
    knownLabel,
    trusted,
    version: body.version ?? null,
    prediction: body.prediction ?? null,
    limits: services.imageLimits,
    quota: { maxSamples: policy.maxFeedbackSamples, maxBytes: policy.maxFeedbackBytes },
  });
  const r = saved.record;
  return c.json(
    {
      model: name,
      id: r.id,
      image: r.image.sha256,
      label: r.label,
      knownLabel: r.knownLabel,
      trusted: r.trusted,
      duplicate: saved.duplicate,
      receivedAt: r.receivedAt,
    },
    saved.duplicate ? 200 : 201,
  );
}

feedback.post(
  '/models/:name/feedback',
  requireFeedbackToken(),
  loadPolicy(),
  limitBody(feedbackBodyLimit),
  postFeedback,
);
