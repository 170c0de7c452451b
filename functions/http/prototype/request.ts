/**
 * What a `POST /admin/models/{name}/prototypes` request asks for, in either form:
 * - `multipart/form-data`: one file part per image, the part's name is the class label; optional
 *   text parts `from` ("model" or "model@version") and `activate` ("none", "stable" or
 *   `{"candidate": weight}`);
 * - JSON `{from, examples: [{label, image: base64 or data URL}], activate}`.
 * Everything is checked here, before any image is decoded or anything is written.
 */
import { z } from 'zod';
import { EdgetuneError } from '../../../shared/errors.ts';
import { decodeBase64 } from '../base64.ts';
import { checkDeclaredType } from '../image-type.ts';
import { mediaType, parseInput, readJsonBody } from '../validate.ts';

/** Bounds that keep one request's work (decode + embed every image) and the stored head small. */
export const PROTOTYPE_LIMITS = {
  /** Images in one request. */
  examplesPerRequest: 64,
  /** Examples of one class, the parent's included. */
  examplesPerClass: 32,
  /** Classes of the resulting version. */
  classes: 32,
} as const;

export type Activation = 'none' | 'stable' | { candidate: number };

export interface PrototypeExampleUpload {
  label: string;
  bytes: Uint8Array;
}

export interface PrototypeRequest {
  from?: string;
  examples: PrototypeExampleUpload[];
  activate: Activation;
}

/** Parts of a multipart request that are options, not classes. */
const RESERVED = new Set(['from', 'activate']);

const Label = z
  .string()
  .min(1, 'labels must not be empty')
  .max(128, 'labels are at most 128 characters')
  .refine(
    (s) => s.trim() === s && [...s].every((ch) => ch.charCodeAt(0) >= 32),
    'labels must not have control characters or edge spaces',
  );

const ActivationSchema: z.ZodType<Activation> = z.union([
  z.literal('none'),
  z.literal('stable'),
  z.object({ candidate: z.number().gt(0).max(100) }).strict(),
]);

const JsonBody = z
  .object({
    from: z.string().min(1).max(140).optional(),
    examples: z
      .array(
        z.object({ label: Label, image: z.string().min(1, 'must be a non-empty base64 string') }).strict(),
      )
      .min(1, 'send at least one example')
      .max(
        PROTOTYPE_LIMITS.examplesPerRequest,
        `at most ${PROTOTYPE_LIMITS.examplesPerRequest} examples per request`,
      ),
    activate: ActivationSchema.default('none'),
  })
  .strict();

function parseActivation(text: string): Activation {
  const t = text.trim();
  let value: unknown = t;
  if (t.startsWith('{')) {
    try {
      value = JSON.parse(t);
    } catch {
      throw new EdgetuneError('bad_request', 'activate: not valid JSON');
    }
  }
  return parseInput(ActivationSchema, value, 'activate');
}

async function readMultipart(req: Request): Promise<PrototypeRequest> {
  let form: FormData;
  try {
    form = await req.formData();
  } catch (e) {
    throw new EdgetuneError('bad_request', `malformed multipart/form-data body: ${(e as Error).message}`);
  }
  const out: PrototypeRequest = { examples: [], activate: 'none' };
  const images = [...form.entries()].filter(([name]) => !RESERVED.has(name));
  if (images.length > PROTOTYPE_LIMITS.examplesPerRequest) {
    throw new EdgetuneError(
      'bad_request',
      `${images.length} examples; at most ${PROTOTYPE_LIMITS.examplesPerRequest} per request`,
    );
  }
  for (const [name, value] of form.entries()) {
    if (name === 'from' || name === 'activate') {
      if (typeof value !== 'string') throw new EdgetuneError('bad_request', `part "${name}" must be text`);
      if (name === 'from') out.from = value.trim();
      else out.activate = parseActivation(value);
      continue;
    }
    const label = parseInput(Label, name, 'part name');
    if (typeof value === 'string') {
      throw new EdgetuneError(
        'invalid_image',
        `part "${name}" is text, not an image file: send one file part per image, named by its label`,
      );
    }
    if (value.size === 0) throw new EdgetuneError('invalid_image', `part "${name}" is an empty file`);
    const bytes = new Uint8Array(await value.arrayBuffer());
    checkDeclaredType(value.type, bytes, `part "${name}" (${value.name || 'unnamed'})`);
    out.examples.push({ label, bytes });
  }
  if (out.examples.length === 0) {
    throw new EdgetuneError('bad_request', 'no examples: send one file part per image, named by its label');
  }
  return out;
}

export async function readPrototypeRequest(req: Request): Promise<PrototypeRequest> {
  const type = mediaType(req.headers.get('content-type'));
  if (type === 'multipart/form-data') return readMultipart(req);
  if (type === 'application/json' || type.endsWith('+json')) {
    const body = parseInput(JsonBody, await readJsonBody(req));
    return {
      from: body.from,
      activate: body.activate,
      examples: body.examples.map((e, i) => {
        const bytes = decodeBase64(e.image, `examples[${i}].image`);
        checkDeclaredType(null, bytes, `examples[${i}].image`);
        return { label: e.label, bytes };
      }),
    };
  }
  throw new EdgetuneError(
    'unsupported_media_type',
    `unsupported content-type ${JSON.stringify(type)}: send multipart/form-data (one file part per image, named by its label) or application/json {from, examples: [{label, image}], activate}`,
  );
}
