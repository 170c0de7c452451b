import { EdgetuneError } from '../../shared/errors.ts';
import { decodeBase64 } from './base64.ts';
import { checkDeclaredType } from './image-type.ts';

/** One image taken from a multipart body, with the name of the part it came in. */
export interface FormImage {
  part: string;
  bytes: Uint8Array;
}

export interface FormUpload {
  images: FormImage[];
  form: FormData;
}

/** Part names that carry images, in the order they are looked for. */
const IMAGE_PARTS = ['image', 'images', 'file', 'files'] as const;

/**
 * The images of a `multipart/form-data` body, as browsers' forms, `curl -F` and HTTP SDKs send it:
 * the parts named `image`/`images`/`file`/`files` (files, or text holding base64 or a data URL);
 * without any of those, every file part in order. Each file's declared type must agree with its
 * bytes. No image at all is a 400 that says which part names are read.
 */
export async function readFormImages(
  req: Request,
  maxImages: number,
  limitName = 'MAX_BATCH',
): Promise<FormUpload> {
  let form: FormData;
  try {
    form = await req.formData();
  } catch (e) {
    throw new EdgetuneError('bad_request', `malformed multipart/form-data body: ${(e as Error).message}`);
  }
  const named = IMAGE_PARTS.flatMap((name) =>
    form.getAll(name).map((value) => ({ name, value: value as File | string })),
  );
  const entries: { name: string; value: File | string }[] = named.length
    ? named
    : [...form.entries()]
        .filter(([, value]) => typeof value !== 'string')
        .map(([name, value]) => ({ name, value: value as File | string }));
  if (entries.length === 0) {
    const parts = [...new Set([...form.keys()])];
    throw new EdgetuneError(
      'bad_request',
      `multipart body has no image: send the file in a part named "image" or "file" (received ${
        parts.length ? `only the text part(s) ${parts.map((p) => JSON.stringify(p)).join(', ')}` : 'no parts'
      })`,
    );
  }
  if (entries.length > maxImages) {
    throw new EdgetuneError(
      'bad_request',
      `multipart body has ${entries.length} images; at most ${maxImages} per request (${limitName})`,
    );
  }
  const images: FormImage[] = [];
  for (const { name, value } of entries) {
    // A browser form submitted with no file chosen sends an empty part (some parsers make it text).
    if (typeof value === 'string' ? value.trim() === '' : value.size === 0) {
      throw new EdgetuneError(
        'invalid_image',
        `part "${name}" is empty: no file was chosen or the file has no bytes`,
      );
    }
    if (typeof value === 'string') {
      images.push({ part: name, bytes: decodeBase64(value, `part "${name}"`) });
      continue;
    }
    const bytes = new Uint8Array(await value.arrayBuffer());
    checkDeclaredType(value.type, bytes, `part "${name}"`);
    images.push({ part: name, bytes });
  }
  return { images, form };
}
