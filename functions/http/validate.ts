import type { z } from 'zod';
import { EdgetuneError } from '../../shared/errors.ts';

/** Validates a caller's value; the first problem becomes a 400 with its path. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, what = 'body'): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = issue?.path.length ? `${what}.${issue.path.join('.')}` : what;
  throw new EdgetuneError('bad_request', `${path}: ${issue?.message ?? 'invalid'}`);
}

/** The media type without parameters, lower-cased ('' when absent). */
export function mediaType(contentType: string | undefined | null): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

/** Reads a JSON body; empty or unparsable bodies are the caller's mistake (400). */
export async function readJsonBody(req: Request): Promise<unknown> {
  const type = mediaType(req.headers.get('content-type'));
  if (type !== 'application/json' && !type.endsWith('+json')) {
    throw new EdgetuneError(
      'unsupported_media_type',
      `expected content-type application/json, got ${type ? JSON.stringify(type) : 'none'}`,
    );
  }
  const text = await req.text();
  if (text.trim() === '') throw new EdgetuneError('bad_request', 'empty body: expected a JSON object');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new EdgetuneError('bad_request', `body is not valid JSON: ${(e as Error).message}`);
  }
}
