import { z } from 'zod';
import { EdgetuneError } from '../shared/errors.ts';
import { sniffImageFormat } from '../shared/preprocess/header.ts';
import { decodeBase64 } from './base64.ts';
import { mediaType, parseInput, readJsonBody } from './validate.ts';

const IMAGE_TYPES: Record<string, 'png' | 'jpeg'> = {
  'image/png': 'png',
  'image/jpeg': 'jpeg',
  'image/jpg': 'jpeg',
};

export interface ImageRequest {
  images: Uint8Array[];
  /** True when the caller sent `images: [...]` and expects a list back. */
  batch: boolean;
}

function jsonSchema(maxBatch: number) {
  return z
    .object({
      image: z.string().min(1, 'must be a non-empty base64 string').optional(),
      images: z
        .array(z.string().min(1, 'must be a non-empty base64 string'))
        .min(1, 'must hold at least one image')
        .max(maxBatch, `at most ${maxBatch} images per request`)
        .optional(),
    })
    .strict()
    .refine((b) => (b.image === undefined) !== (b.images === undefined), {
      message: 'send exactly one of "image" or "images"',
    });
}

/**
 * The images of a classify/embed request: a raw PNG/JPEG body, or JSON `{image}` / `{images}` with
 * base64. The declared content type must match the bytes; decoding happens later, after the
 * header has been checked against the size limits.
 */
export async function readImageRequest(req: Request, maxBatch: number): Promise<ImageRequest> {
  const type = mediaType(req.headers.get('content-type'));
  const declared = IMAGE_TYPES[type];
  if (declared) {
    const bytes = new Uint8Array(await req.arrayBuffer());
    if (bytes.byteLength === 0) throw new EdgetuneError('invalid_image', 'empty body: send the image bytes');
    const actual = sniffImageFormat(bytes);
    if (actual !== declared) {
      throw new EdgetuneError(
        'invalid_image',
        `content-type says ${type} but the bytes are ${actual.toUpperCase()}`,
      );
    }
    return { images: [bytes], batch: false };
  }
  if (type === 'application/json') {
    const body = parseInput(jsonSchema(maxBatch), await readJsonBody(req));
    if (body.image !== undefined) return { images: [decodeBase64(body.image, 'image')], batch: false };
    return { images: body.images!.map((s, i) => decodeBase64(s, `images[${i}]`)), batch: true };
  }
  throw new EdgetuneError(
    'unsupported_media_type',
    `unsupported content-type ${type ? JSON.stringify(type) : '(none)'}: send image/png, image/jpeg or application/json`,
  );
}
