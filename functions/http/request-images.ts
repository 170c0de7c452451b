import { z } from 'zod';
import { EdgetuneError } from '../../shared/errors.ts';
import { decodeBase64 } from './base64.ts';
import { readFormImages } from './form-files.ts';
import { checkDeclaredType, isRawImageType } from './image-type.ts';
import { mediaType, parseInput, readJsonBody } from './validate.ts';

export interface ImageRequest {
  images: Uint8Array[];
  /** True when the caller sent several images (`images: [...]` or several parts) and expects a list back. */
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

export const ACCEPTED_UPLOADS =
  'send the image bytes (any image/* type, application/octet-stream or no type), multipart/form-data with an "image" or "file" part, or application/json {"image": base64 or data URL}';

/**
 * The images of a classify/embed request, in every form clients send them: a raw body (any
 * `image/*` type, `application/octet-stream`, curl's default form type or none: the magic bytes
 * decide), `multipart/form-data` (one or several file parts), or JSON `{image}` / `{images}` with
 * base64 or data URLs. Decoding happens later, after the header has been checked against the size
 * limits.
 */
export async function readImageRequest(req: Request, maxBatch: number): Promise<ImageRequest> {
  const contentType = req.headers.get('content-type');
  const type = mediaType(contentType);
  if (type === 'multipart/form-data') {
    const { images } = await readFormImages(req, maxBatch);
    return { images: images.map((i) => i.bytes), batch: images.length > 1 };
  }
  if (type === 'application/json' || type.endsWith('+json')) {
    const body = parseInput(jsonSchema(maxBatch), await readJsonBody(req));
    if (body.image !== undefined) return { images: [decodeBase64(body.image, 'image')], batch: false };
    return { images: body.images!.map((s, i) => decodeBase64(s, `images[${i}]`)), batch: true };
  }
  if (isRawImageType(type)) {
    const bytes = new Uint8Array(await req.arrayBuffer());
    if (bytes.byteLength === 0) throw new EdgetuneError('invalid_image', 'empty body: send the image bytes');
    checkDeclaredType(contentType, bytes);
    return { images: [bytes], batch: false };
  }
  throw new EdgetuneError(
    'unsupported_media_type',
    `unsupported content-type ${JSON.stringify(type)}: ${ACCEPTED_UPLOADS}`,
  );
}
